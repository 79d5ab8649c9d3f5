#!/usr/bin/env bash
# Builds a tiny program around sigs.k8s.io/cli-utils' kstatus (the library Flux health
# checks use) into a cache outside the checkout and prints its path; a no-op when cached.
# The health tests ask it, not a re-implementation, how Flux reads flowops objects.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/.*sigs.k8s.io\/cli-utils \(v[^ ]*\).*/\1/p' "$here/go.mod")
cache_root=${FLOWOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowops}
bin="$cache_root/kstatus-$version/kstatus"
stamp="$bin.stamp"
want_stamp="$version $(cat "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-16) $(go env GOVERSION)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
  echo "$bin"; exit 0
fi
mkdir -p "$(dirname "$bin")"
echo ">> building kstatus (cli-utils $version) into $bin" >&2
cd "$here"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .
mv "$bin.tmp" "$bin"
echo "$want_stamp" > "$stamp"
echo "$bin"
