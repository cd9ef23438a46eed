# d365-operator — kubebuilder v4 layout. `make help` lists the targets.

IMG ?= d365-operator:latest
# Tools are built from the Go module proxy into ./bin (no other download host is needed).
LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.1
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0
# The Kubernetes minor version helm $(HELM_VERSION) is built against (its k8s.io/client-go):
# helm's own Makefile stamps it with -X, and without it `helm template` assumes Kubernetes 1.20.
HELM_K8S_MINOR ?= 37
CRD_REF_DOCS_VERSION ?= v0.3.0
GOVULNCHECK_VERSION ?= v1.9.0
# The Go vulnerability database, as the module golang.org/x/vulndb (vuln.go.dev is not
# reachable from CI; the module proxy is): latest, so that new entries are seen at once.
VULNDB_VERSION ?= latest
# promtool of Prometheus 3.x (the Go module's v0.3xx.y versions), for `promtool test rules`.
PROMTOOL_VERSION ?= v0.316.0
# Each tool lands in ./bin under a versioned name (bin/controller-gen-v0.23.0), so bumping a
# version above builds the new one; bin/<tool> is a symlink to the one built last. Recipes call
# the versioned file, so switching back to an older version never runs the newer tool.
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
CRD_REF_DOCS ?= $(LOCALBIN)/crd-ref-docs-$(CRD_REF_DOCS_VERSION)
GOVULNCHECK ?= $(LOCALBIN)/govulncheck-$(GOVULNCHECK_VERSION)
PROMTOOL ?= $(LOCALBIN)/promtool-$(PROMTOOL_VERSION)
CHART ?= charts/d365-operator
GO_TEST_FLAGS ?=

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and RBAC role from markers, and copy them into the Helm chart.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	@# The chart installs the same CRD and the same operator rules: copied, never edited by hand.
	rm -f $(CHART)/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART)/crds/
	cp config/rbac/role.yaml $(CHART)/files/manager-role.yaml

.PHONY: helm-sync
helm-sync: manifests ## Copy the generated CRD and ClusterRole rules into the Helm chart (part of manifests).

.PHONY: api-docs
api-docs: manifests crd-ref-docs ## Generate docs/api.md from the Go types in api/ and the CRD's validation rules.
	"$(CRD_REF_DOCS)" --source-path=api --config=docs/api-reference/config.yaml --renderer=markdown \
		--output-path=docs/api.md --log-level=ERROR
	go run ./hack/crd-rules config/crd/bases/*.yaml >> docs/api.md

.PHONY: flags-docs
flags-docs: ## Refresh the `--help` blocks of docs/operator-flags.md from the operator built from this tree.
	@# Built and captured first, so a build error fails the target instead of landing in the page.
	go build -o bin/d365-operator ./cmd
	help="$$(bin/d365-operator --help 2>&1)"; printf '%s\n' "$$help" | go run ./hack/docblock docs/operator-flags.md operator-help
	help="$$(bin/d365-operator login -h 2>&1)"; printf '%s\n' "$$help" | go run ./hack/docblock docs/operator-flags.md login-help

.PHONY: docs
docs: api-docs flags-docs ## Regenerate the generated documentation (docs/api.md, the flags in docs/operator-flags.md).

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify
verify: controller-gen crd-ref-docs ## Regenerate and fail when that changes any generated file.
	hack/verify-generated.sh

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code, the end-to-end tests (build tag e2e) included.
	go vet -tags e2e ./...

.PHONY: gofmt-check
gofmt-check: ## Fail when a Go file is not gofmt-formatted.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

.PHONY: envtest-assets
envtest-assets: ## Build (once, cached) kube-apiserver and etcd for envtest from the Go module proxy.
	@hack/envtest-assets.sh >/dev/null

# test/install renders the chart and config/default with these binaries and fails without them;
# test/monitoring runs `promtool test rules` on the chart's alerts and fails without promtool.
# -count=1: test/install runs helm and `go run ./cmd`, which Go's test cache does not track.
GO_TEST = HELM="$(HELM)" KUSTOMIZE="$(KUSTOMIZE)" PROMTOOL="$(PROMTOOL)" KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" \
	go test -count=1 $(GO_TEST_FLAGS)

# The end-to-end tests (hack/demo/demo_test.go, hack/bench/bench_test.go: the operator's
# binary against a control plane and the simulator, a few minutes) carry the build tag e2e:
# `make test` runs them, `make test-fast` leaves them out.
.PHONY: test
test: verify vet gofmt-check envtest-assets helm kustomize promtool ## Verify generated files, vet, and run all tests (end-to-end included) against a real control plane.
	$(GO_TEST) -tags e2e ./... -timeout 20m

.PHONY: test-fast
test-fast: envtest-assets helm kustomize promtool ## Run the unit and envtest suites only: no regeneration, vet or end-to-end tests.
	$(GO_TEST) ./... -timeout 10m

# The data race detector on the packages with the most concurrency (the reconciler's shared
# caches and single-flight calls, MSAL's token cache), once per CI run: about 3 times slower.
RACE_PACKAGES ?= ./internal/controller/... ./internal/entra/...
.PHONY: test-race
test-race: envtest-assets ## Run the controller and entra tests with the data race detector.
	$(GO_TEST) -race $(RACE_PACKAGES) -timeout 10m

# Every parser of what a server or a user sends, fuzzed for FUZZ_TIME each (go test runs one
# fuzz target per invocation). Found inputs land in the package's testdata/fuzz and then run
# as regression cases in every `go test`.
FUZZ_TIME ?= 10s
FUZZ_TARGETS ?= \
	./internal/dataverse:FuzzParseChallenge \
	./internal/dataverse:FuzzWhoAmIResponse \
	./internal/dataverse:FuzzODataError \
	./internal/entra:FuzzClassify \
	./internal/transport:FuzzParseRetryAfter \
	./internal/environment:FuzzParse \
	./internal/environment:FuzzParseAuthority
.PHONY: fuzz
fuzz: ## Fuzz each parser of server and user input for FUZZ_TIME (10s) each.
	@for t in $(FUZZ_TARGETS); do \
		pkg="$${t%%:*}"; name="$${t##*:}"; \
		echo "fuzz $$name ($$pkg, $(FUZZ_TIME))"; \
		go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZ_TIME) "$$pkg" || exit 1; \
	done

# govulncheck reports a vulnerability only when the code calls an affected function (exit 3),
# so an affected module whose vulnerable code is never reached does not fail the build. The
# database is golang.org/x/vulndb's data/osv (one OSV file per entry), downloaded from the
# module proxy; govulncheck reads such a directory with -db file://.
.PHONY: vulncheck
vulncheck: govulncheck ## Fail when the code calls a function with a known vulnerability (govulncheck).
	version="$$(go list -m -f '{{.Version}}' golang.org/x/vulndb@$(VULNDB_VERSION))"; \
	go mod download golang.org/x/vulndb@$$version; \
	db="$$(go list -m -f '{{.Dir}}' golang.org/x/vulndb@$$version)/data/osv"; \
	test -d "$$db" || { echo "vulncheck: golang.org/x/vulndb@$$version has no data/osv" >&2; exit 1; }; \
	echo "vulncheck: database golang.org/x/vulndb@$$version"; \
	"$(GOVULNCHECK)" -db "file://$$db" ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	"$(GOLANGCI_LINT)" run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply its fixes.
	"$(GOLANGCI_LINT)" run --fix

.PHONY: bench
bench: envtest-assets ## Run the scale benchmark (N connections, K identities, SHARDS operator processes; more flags in BENCH_FLAGS) and print its figures.
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go run ./hack/bench $(if $(N),-n $(N)) $(if $(K),-k $(K)) $(if $(SHARDS),-shards $(SHARDS)) $(BENCH_FLAGS)

.PHONY: demo
demo: manifests envtest-assets ## Run the operator against a local control plane and the Entra ID/Dataverse simulator.
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go run ./hack/demo

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -o bin/d365-operator ./cmd

.PHONY: run
run: manifests generate fmt vet ## Run the operator from your host against the current kubeconfig.
	go run ./cmd

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push the container image.
	docker push ${IMG}

.PHONY: build-installer
build-installer: manifests generate kustomize ## Write dist/install.yaml: CRDs and the operator's deployment.
	mkdir -p dist
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default > dist/install.yaml

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster in ~/.kube/config.
	"$(KUSTOMIZE)" build config/crd | kubectl apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs from the cluster.
	"$(KUSTOMIZE)" build config/crd | kubectl delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator to the cluster in ~/.kube/config (IMG=...).
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default | kubectl apply -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the operator from the cluster.
	"$(KUSTOMIZE)" build config/default | kubectl delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into ./bin.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/controller-gen,sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build kustomize into ./bin.
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/kustomize,sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

# helm's own Makefile stamps its version and the Kubernetes version it assumes with -X.
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR) \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR)

.PHONY: helm
helm: $(HELM) ## Build helm into ./bin.
$(HELM): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/helm,helm.sh/helm/v3/cmd/helm,$(HELM_VERSION),-ldflags "$(HELM_LDFLAGS)")

.PHONY: crd-ref-docs
crd-ref-docs: $(CRD_REF_DOCS) ## Build crd-ref-docs into ./bin.
$(CRD_REF_DOCS): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/crd-ref-docs,github.com/elastic/crd-ref-docs,$(CRD_REF_DOCS_VERSION))

.PHONY: govulncheck
govulncheck: $(GOVULNCHECK) ## Build govulncheck into ./bin.
$(GOVULNCHECK): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/govulncheck,golang.org/x/vuln/cmd/govulncheck,$(GOVULNCHECK_VERSION))
.PHONY: promtool
promtool: $(PROMTOOL) ## Build promtool into ./bin (the chart's alert rules are tested with it).
$(PROMTOOL): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/promtool,github.com/prometheus/prometheus/cmd/promtool,$(PROMTOOL_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into ./bin.
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(LOCALBIN)/golangci-lint,github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool is kubebuilder v4's: it 'go install's a package into $(LOCALBIN) unless its
# versioned binary is already there, renames it to <name>-<version>, and points <name> at it.
# Here the symlink is relative (bin/ can move) and $(4) passes extra flags to go install.
# $1 - target path with name of binary (without the version)
# $2 - package url which can be installed
# $3 - specific version of package
# $4 - optional flags for go install (helm's -ldflags)
define go-install-tool
@[ -f "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f "$(1)" || true ;\
GOBIN="$(LOCALBIN)" go install $(4) $${package} ;\
mv "$(1)" "$(1)-$(3)" ;\
} ;\
ln -sf "$(notdir $(1))-$(3)" "$(1)"
endef
