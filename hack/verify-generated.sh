#!/usr/bin/env bash
# Fails when regenerating (make manifests generate docs) changes a generated file: the CRDs,
# the RBAC role and the deepcopy code must always be what the Go markers produce, the Helm
# chart's copies of the CRDs and the role what they were copied from, and the generated docs
# (API reference, operator flags) what the Go types and the binary say.
# It compares before/after regeneration, so unrelated uncommitted work does not trip it.
set -euo pipefail
cd "$(dirname "$0")/.."
generated() {
  {
    find config/crd/bases -type f; echo config/rbac/role.yaml; find api -name 'zz_generated*'
    find charts/d365-operator/crds charts/d365-operator/files -type f
    echo docs/api.md; echo docs/operator-flags.md
  } | sort
}
snap=$(mktemp -d)
trap 'rm -rf "$snap"' EXIT
generated | tar cf - -T - 2>/dev/null | tar xf - -C "$snap"
make -s manifests generate docs >/dev/null
stale=()
for f in $(generated); do
  cmp -s "$snap/$f" "$f" || stale+=("$f")
done
for f in $(cd "$snap" && generated); do
  [[ -e $f ]] || stale+=("$f (removed)")
done
if ((${#stale[@]})); then
  echo "Generated files were out of date and have now been regenerated; review and commit:" >&2
  printf '  %s\n' "${stale[@]}" >&2
  exit 1
fi
