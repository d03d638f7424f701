#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver and etcd) from the Go module proxy into
# bin/k8s/<versions>/ and prints that folder on the last line of stdout.
#
# envtest needs both binaries, and no download site for them is reachable from our machines, but both are
# plain Go programs published as modules: kube-apiserver lives in k8s.io/kubernetes, whose go.mod points
# its k8s.io/* staging modules at local folders (./staging/src/...). A throwaway module that requires
# k8s.io/kubernetes and replaces each of those with its published v0.X.Y release builds it. The throwaway
# modules live under bin/ (git-ignored): nothing here is our code beyond this script.
#
# Idempotent: when both binaries exist it only prints the folder. The first run takes about 5 minutes on
# 2 cores (kube-apiserver); later runs reuse the Go build cache.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
STAGING_VERSION="v0.${K8S_VERSION#1.}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/bin/k8s/${K8S_VERSION}-etcd-${ETCD_VERSION}"
work="${root}/bin/k8s/.build"

log() { echo "build-control-plane: $*" >&2; }

if [[ -x "${out}/kube-apiserver" && -x "${out}/etcd" ]]; then
  echo "${out}"
  exit 0
fi

mkdir -p "${out}" "${work}"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0

if [[ ! -x "${out}/etcd" ]]; then
  start=$(date +%s)
  log "building etcd v${ETCD_VERSION} from the Go module proxy (about 20 s)"
  d="${work}/etcd-${ETCD_VERSION}"
  rm -rf "${d}" && mkdir -p "${d}"
  (
    cd "${d}"
    go mod init build.local/etcd >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >/dev/null 2>&1
    go build -trimpath -o "${out}/etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv "${out}/etcd.tmp" "${out}/etcd"
  log "etcd built in $(( $(date +%s) - start )) s"
fi

if [[ ! -x "${out}/kube-apiserver" ]]; then
  start=$(date +%s)
  log "building kube-apiserver v${K8S_VERSION} from the Go module proxy (about 5 minutes on 2 cores, once)"
  d="${work}/kube-apiserver-${K8S_VERSION}"
  rm -rf "${d}" && mkdir -p "${d}"
  (
    cd "${d}"
    go mod init build.local/kube-apiserver >/dev/null 2>&1
    go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" >/dev/null
    gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v${K8S_VERSION}.mod"
    # Every staging module kubernetes' own go.mod replaces with a local folder gets its published release.
    modules=$(sed -n '/^replace (/,/^)/p' "${gomod}" | awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}')
    [[ -n "${modules}" ]] || { log "no staging replaces found in ${gomod}"; exit 1; }
    for m in ${modules}; do
      go mod edit -replace "${m}=${m}@${STAGING_VERSION}"
    done
    go mod edit -require "k8s.io/kubernetes@v${K8S_VERSION}"
    go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" >/dev/null 2>&1 || go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}"
    go build -trimpath -o "${out}/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  )
  mv "${out}/kube-apiserver.tmp" "${out}/kube-apiserver"
  log "kube-apiserver built in $(( $(date +%s) - start )) s"
fi

echo "${out}"
