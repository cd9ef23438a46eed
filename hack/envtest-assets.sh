#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd) from the Go module proxy and
# prints the folder to use as KUBEBUILDER_ASSETS.
#
# Why: the usual download hosts for envtest binaries are unreachable here, but the Go module
# proxy is not. kube-apiserver is built from k8s.io/kubernetes at the version matching the
# k8s.io/* modules in go.mod; etcd from go.etcd.io/etcd/server/v3/etcdmain. The result is
# cached per user, so the cold build (about 3 minutes) happens once per machine.
#
# Usage: hack/envtest-assets.sh            # prints the assets folder on stdout
#        K8S_VERSION=1.37.2 hack/envtest-assets.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'envtest-assets: %s\n' "$*" >&2; }

# The Kubernetes version follows k8s.io/api in go.mod (v0.37.2 -> 1.37.2).
if [[ -z ${K8S_VERSION:-} ]]; then
  api=$(awk '$1 == "k8s.io/api" {print $2; exit}' "$root/go.mod")
  [[ -n $api ]] || { log "k8s.io/api not found in go.mod"; exit 1; }
  K8S_VERSION=${api#v0.}
  K8S_VERSION=1.${K8S_VERSION}
fi
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
staging_version="v0.${K8S_VERSION#1.}"

cache=${XDG_CACHE_HOME:-$HOME/.cache}/d365-operator/envtest/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}
if [[ -x $cache/kube-apiserver && -x $cache/etcd ]]; then
  echo "$cache"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

if [[ ! -x $cache/kube-apiserver ]]; then
  log "building kube-apiserver v${K8S_VERSION} from the Go module proxy (once per machine, a few minutes)"
  mkdir -p "$work/apiserver"
  cd "$work/apiserver"
  go mod init envtest.local/apiserver >/dev/null 2>&1
  # k8s.io/kubernetes points its staging modules at ./staging; pin each to its published tag.
  # The proxy may refuse a version's zip (403) while serving its go.mod: say so plainly.
  if ! info=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}"); then
    log "the Go module proxy cannot serve k8s.io/kubernetes@v${K8S_VERSION}:"
    printf '%s\n' "$info" | awk -F'"' '/"Error":/ {print "  " $4}' >&2
    log "pin the k8s.io/* modules in go.mod to a patch release the proxy serves (or set K8S_VERSION)"
    exit 1
  fi
  gomod=$(printf '%s\n' "$info" | awk -F'"' '/"GoMod":/ {print $4}')
  {
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    awk '/=> \.\/staging\/src\// {print "replace " $1 " => " $1 " '"$staging_version"'"}' "$gomod"
  } >>go.mod
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" >&2
  go build -trimpath -ldflags=-s -o "$cache/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver"
fi

if [[ ! -x $cache/etcd ]]; then
  log "building etcd ${ETCD_VERSION} from the Go module proxy"
  mkdir -p "$work/etcd"
  cd "$work/etcd"
  go mod init envtest.local/etcd >/dev/null 2>&1
  cat >main.go <<'GO'
// Command etcd is etcd's own main, built from the module proxy for envtest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2
  go mod tidy >&2
  go build -trimpath -ldflags=-s -o "$cache/etcd.tmp" .
  mv "$cache/etcd.tmp" "$cache/etcd"
fi

echo "$cache"
