#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the source node-llama-cpp ships (llama/gitRelease.bundle),
# so comparisons and conformance runs use the same llama.cpp version as the embedded engine.
# The binary is cached outside the repo, keyed by the llama.cpp commit; prints its path.
#   scripts/build-llama-server.sh            (LLAMA_SERVER_CACHE overrides ~/.cache/openscope/llama-server)
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "missing $bundle: run npm ci first" >&2; exit 1; }
commit=$(git bundle list-heads "$bundle" | awk 'NR==1 {print $1}')
out="${LLAMA_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openscope/llama-server}/$commit"
if [ -x "$out/llama-server" ]; then echo "$out/llama-server"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$bundle" "$work/llama.cpp"
git -C "$work/llama.cpp" checkout -q "$commit"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$work/llama.cpp" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON >&2
cmake --build "$work/build" --target llama-server -j "$(nproc)" >&2
mkdir -p "$out"
cp "$work/build/bin/llama-server" "$out/llama-server.tmp"
mv "$out/llama-server.tmp" "$out/llama-server"
echo "$out/llama-server"
