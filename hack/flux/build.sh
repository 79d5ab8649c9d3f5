#!/usr/bin/env bash
# Builds Flux source-controller and kustomize-controller from Go modules into a cache
# outside the checkout, copies their CRDs beside them, and prints the cache directory
# (bin/ and crds/). A second run with the same pins is a no-op.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
source "$here/versions.env"
cache_root=${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowops}
dir="$cache_root/flux-$SOURCE_CONTROLLER_VERSION"
stamp="$dir/.stamp"
want_stamp="source-controller $SOURCE_CONTROLLER_VERSION kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION $(cat "$here"/*/go.sum | sha256sum | cut -c1-16) $(go env GOVERSION)"
controllers=(source-controller kustomize-controller)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
  for c in "${controllers[@]}"; do [[ -x "$dir/bin/$c" ]] || break; done && { echo "$dir"; exit 0; }
fi

step() { echo ">> $*" >&2; }
mkdir -p "$dir/bin" "$dir/crds"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
step "building Flux source-controller $SOURCE_CONTROLLER_VERSION + kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION into $dir (first build takes minutes)"
for c in "${controllers[@]}"; do
  cd "$here/$c"
  step "go build $c"
  go build -trimpath -ldflags "-s -w" -o "$dir/bin/$c.tmp" "github.com/fluxcd/$c"
  mv "$dir/bin/$c.tmp" "$dir/bin/$c"
  # The CRDs ship in the module zip, version-matched to the binary.
  src=$(go list -m -f '{{.Dir}}' "github.com/fluxcd/$c")
  install -m 0644 "$src"/config/crd/bases/*.yaml "$dir/crds/"
done
echo "$want_stamp" > "$stamp"
step "done"
echo "$dir"
