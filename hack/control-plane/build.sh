#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from Go modules
# into a cache outside the checkout, and prints the bin directory. A second run
# with the same pins is a no-op.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
source "$here/versions.env"
cache_root=${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowops}
bin="$cache_root/$KUBERNETES_VERSION/bin"
stamp="$bin/.stamp"
want_stamp="$KUBERNETES_VERSION $ETCD_VERSION $(cat "$here"/kubernetes/go.sum "$here"/etcd/go.sum | sha256sum | cut -c1-16) $(go env GOVERSION)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
  for b in etcd kube-apiserver kube-controller-manager kubectl; do [[ -x "$bin/$b" ]] || break; done && { echo "$bin"; exit 0; }
fi

mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
# The module proxy serves no VCS origin for release zips, so the commit is unknown.
k8s_commit=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Hash": "\(.*\)".*/\1/p')
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitCommit=${k8s_commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

step() { echo ">> $*" >&2; }
step "building control plane $KUBERNETES_VERSION + etcd $ETCD_VERSION into $bin (first build takes minutes)"
cd "$here/kubernetes"
for cmd in kube-apiserver kube-controller-manager kubectl; do
  step "go build $cmd"
  go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
  mv "$bin/$cmd.tmp" "$bin/$cmd"
done
cd "$here/etcd"
step "go build etcd"
# Built from the module zip, so there is no git SHA; say where it came from instead.
go build -trimpath -ldflags "-s -w -X 'go.etcd.io/etcd/api/v3/version.GitSHA=module go.etcd.io/etcd/server/v3@$ETCD_VERSION'" -o "$bin/etcd.tmp" .
mv "$bin/etcd.tmp" "$bin/etcd"
echo "$want_stamp" > "$stamp"
step "done"
echo "$bin"
