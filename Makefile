# tiktok-operator Makefile: the usual kubebuilder targets, with every tool pinned and built into bin/ on
# first use from the Go module proxy (nothing is downloaded from anywhere else).

# Image URL to use all building/pushing image targets
IMG ?= ghcr.io/tiktok-operator/tiktok-operator:dev

# Tool versions (pinned).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0
# promtool checks and unit-tests the PrometheusRule alerts (test/deploy); prometheus tags its Go module v0.X.
PROMTOOL_VERSION ?= v0.316.0
HELM_DOCS_VERSION ?= v1.14.2
# The test control plane (hack/build-control-plane.sh builds both from the module proxy).
K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.6.16

GO ?= go
# make bench runs tiktok-operator's matching burst this many more times and reports the spread.
BENCH_REPEAT ?= 4
KUBECTL ?= kubectl
# UNIT_PACKAGES are the packages whose tests need no API server (make test-unit): the pacing engine, the
# identity file, the TikTok client, the simulator, the controllers' decision tests (controller-runtime's
# fake client and a fake clock). internal/plugin is not here: its tests run the plugin against a live operator (envtest).
# internal/testenv's TestUnitPackagesComplete fails when one is missing here, or when one of
# them starts a control plane.
UNIT_PACKAGES = ./api/... ./cmd/... ./controllers/... ./internal/identity/... ./internal/pacing/... ./internal/testenv/... ./internal/tiktok/... ./internal/tiktoksim/... ./test/apiproxy/...

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
PROMTOOL ?= $(LOCALBIN)/promtool-$(PROMTOOL_VERSION)
HELM_DOCS ?= $(LOCALBIN)/helm-docs-$(HELM_DOCS_VERSION)
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(K8S_VERSION)-etcd-$(ETCD_VERSION)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs and RBAC (config/crd/bases, config/rbac) and copy the CRDs into the chart.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:allowDangerousTypes=false paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	@if [ -d charts/tiktok-operator/crds ]; then cp config/crd/bases/*.yaml charts/tiktok-operator/crds/; fi

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods (zz_generated.deepcopy.go).
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt against the code.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet against the code.
	$(GO) vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and fix what it can.
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: control-plane
control-plane: ## Build kube-apiserver and etcd for the tests into bin/k8s/ (once; about 5 minutes).
	@K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/build-control-plane.sh >/dev/null

.PHONY: test-unit
test-unit: ## Run the tests that need no API server (pacing, client, simulator, controllers' decisions): the fast loop, well under a minute.
	$(GO) test $(UNIT_PACKAGES) -count=1 $(TEST_ARGS)

.PHONY: test
test: manifests generate control-plane helm promtool ## Run every test against a real kube-apiserver and etcd (builds them on first use).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" HELM="$(HELM)" PROMTOOL="$(PROMTOOL)" KUBECTL="$(KUBECTL)" $(GO) test ./... -count=1 -timeout 30m $(TEST_ARGS)

.PHONY: test-short
test-short: control-plane helm promtool ## Run the tests without regenerating code.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" HELM="$(HELM)" PROMTOOL="$(PROMTOOL)" KUBECTL="$(KUBECTL)" $(GO) test ./... -count=1 -short $(TEST_ARGS)

.PHONY: test-deploy
test-deploy: manifests control-plane helm promtool ## Run only the packaging tests (test/deploy: kustomize, chart, make deploy).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" HELM="$(HELM)" PROMTOOL="$(PROMTOOL)" KUBECTL="$(KUBECTL)" $(GO) test ./test/deploy/... -count=1 -v $(TEST_ARGS)

.PHONY: bench
bench: manifests generate control-plane ## Measure tiktok-operator against a retry loop and a naive operator (~16 min; BENCH_ARGS=-quick: ~2 min).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./test/bench -out test/bench/results/latest.md -repeat $(BENCH_REPEAT) $(BENCH_ARGS)

.PHONY: bench-scale
bench-scale: manifests control-plane ## Measure 1k, 5k and 10k posts (10 per account) on the test control plane (docs/scale.md).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./test/scale $(SCALE_ARGS)

##@ Build

.PHONY: build
build: generate ## Build the manager, the simulator and the kubectl plugin (kubectl-tiktok) into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/manager ./cmd/manager
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/tiktok-sim ./cmd/tiktok-sim
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/kubectl-tiktok ./cmd/kubectl-tiktok

.PHONY: run
run: manifests generate ## Run the manager from your host against the current kubeconfig.
	$(GO) run ./cmd/manager $(RUN_ARGS)

.PHONY: demo
demo: ## Watch the operator publish 40 posts on a local control plane (about 1 minute once built; TIKTOK_DEMO_REAL_WINDOWS=1: real windows).
	@[ -x "$(ENVTEST_ASSETS)/kube-apiserver" ] || echo "First run: building kube-apiserver and etcd into bin/k8s/ (once, about 5-8 minutes on 2 cores) ..."
	@$(MAKE) -s control-plane
	@echo "Building tiktok-sim and the demo (same build settings as the tests, so their build cache is reused) ..."
	@$(GO) build -o $(LOCALBIN)/tiktok-sim ./cmd/tiktok-sim
	@$(GO) build -o $(LOCALBIN)/tiktok-demo ./hack/demo
	@$(LOCALBIN)/tiktok-demo --assets "$(ENVTEST_ASSETS)" --crds config/crd/bases --sim $(LOCALBIN)/tiktok-sim $(DEMO_ARGS)

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUBECTL) kustomize config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs from the cluster. Call with ignore-not-found=true to ignore missing resources.
	$(KUBECTL) kustomize config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests ## Deploy the operator to the cluster of the current kubeconfig (image IMG).
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; cp -r config $$tmp/; \
	  (cd $$tmp/config/manager && $(KUBECTL) kustomize . >/dev/null && \
	   sed -i 's#image: controller:latest#image: $(IMG)#' manager.yaml); \
	  $(KUBECTL) kustomize $$tmp/config/default | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator from the cluster. Call with ignore-not-found=true to ignore missing resources.
	$(KUBECTL) kustomize config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Helm chart

.PHONY: helm-lint
helm-lint: helm ## Lint the chart (values.schema.json included) with the default values and with every option on.
	$(HELM) lint --strict charts/tiktok-operator
	$(HELM) lint --strict charts/tiktok-operator --set metrics.serviceMonitor.enabled=true \
	  --set 'watchNamespaces={team-a,team-b}' --set accountSelector=shard=a --set extraLabels.team=ops \
	  --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true \
	  --set metrics.certManager.enabled=true --set metrics.certManager.issuerRef.name=ca

.PHONY: helm-docs
helm-docs: helm-docs-tool ## Regenerate charts/tiktok-operator/README.md from README.md.gotmpl and the `# --` comments in values.yaml.
	$(HELM_DOCS) --chart-search-root charts --template-files README.md.gotmpl --sort-values-order file --log-level warning
	@if grep -nE '^\| .*\|  \|$$' charts/tiktok-operator/README.md; then \
	  echo "make helm-docs: the values above have no '# --' description in charts/tiktok-operator/values.yaml" >&2; exit 1; fi

.PHONY: helm-template
helm-template: helm ## Render the chart (CRDs included) to stdout, e.g. make helm-template HELM_ARGS='--set replicaCount=2'.
	$(HELM) template tiktok-operator charts/tiktok-operator --namespace tiktok-operator-system --include-crds $(HELM_ARGS)

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into bin/ if needed.
$(CONTROLLER_GEN):
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into bin/ if needed.
$(GOLANGCI_LINT):
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: helm
helm: $(HELM) ## Build helm into bin/ if needed.
# helm is built the way its own release is (helm's Makefile sets these at link time): without them a plain
# `go install` reports version "v3.22" and assumes Kubernetes v1.20 for `helm template` and `helm lint`,
# and so refuses our chart's kubeVersion. HELM_K8S_MINOR is the minor of the client-go helm v3.22.0 uses.
HELM_K8S_MINOR ?= 37
HELM_LDFLAGS = -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR) \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR)
$(HELM):
	@echo "Building helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) into $(LOCALBIN)"
	@mkdir -p $(LOCALBIN)/.helm-build && rm -f $(LOCALBIN)/.helm-build/helm
	GOBIN=$(LOCALBIN)/.helm-build CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/.helm-build/helm $(HELM) && rmdir $(LOCALBIN)/.helm-build

# promtool's own command; its module is prometheus itself (a large build, once: a few minutes on 2 cores).
.PHONY: promtool
promtool: $(PROMTOOL) ## Build promtool into bin/ if needed (checks and unit-tests the alerting rules).
$(PROMTOOL):
	$(call go-install-tool,$(PROMTOOL),github.com/prometheus/prometheus/cmd/promtool,$(PROMTOOL_VERSION))
.PHONY: helm-docs-tool
helm-docs-tool: $(HELM_DOCS) ## Build helm-docs into bin/ if needed.
$(HELM_DOCS):
	$(call go-install-tool,$(HELM_DOCS),github.com/norwoodj/helm-docs/cmd/helm-docs,$(HELM_DOCS_VERSION))

# go-install-tool installs package $2 at version $3 and renames it to $1 (a versioned name, so a bump rebuilds).
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Building $${package} into $(LOCALBIN)" ;\
mkdir -p $(LOCALBIN) ;\
rm -f $(1) || true ;\
GOBIN=$(LOCALBIN) CGO_ENABLED=0 $(GO) install $${package} ;\
mv $(LOCALBIN)/$$(basename "$$(echo "$(2)" | sed "s/\/v[0-9]*$$//")") $(1) ;\
}
endef
