#!/usr/bin/env bash
# Builds the embedded engine (node-llama-cpp's addon and the llama.cpp it bundles) for this CPU:
# -march=native, OpenMP off so that openscope's patch gives each context a persistent ggml thread
# pool (patches/node-llama-cpp+3.21.1.patch). The server uses this build when it is present and
# node-llama-cpp's prebuilt binaries otherwise. Needs cmake and a C++ compiler; no download.
# The build is cached outside the repo, keyed by node-llama-cpp's version, the patch, and the CPU,
# so a fresh `npm ci` gets it back in seconds.
#   scripts/build-engine.sh            (OPENSCOPE_ENGINE_CACHE overrides ~/.cache/openscope/engine)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=node_modules/node-llama-cpp
[ -f "$pkg/package.json" ] || { echo "missing $pkg: run npm ci first" >&2; exit 1; }
for tool in cmake c++ git; do
  command -v "$tool" >/dev/null || { echo "build-engine: $tool not found (Debian: apt-get install cmake g++ git); the prebuilt engine stays in use" >&2; exit 1; }
done
version=$(node -p "require('./$pkg/package.json').version")
cpu=$(uname -m; grep -m1 '^model name' /proc/cpuinfo 2>/dev/null; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
key=$( { echo "$version"; cat patches/node-llama-cpp+*.patch; echo "$cpu"; } | sha256sum | cut -c1-16)
cache="${OPENSCOPE_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/openscope/engine}/$key"
builds="$pkg/llama/localBuilds"
if [ -f "$cache/done" ]; then
  mkdir -p "$builds"
  cp -a "$cache/localBuilds/." "$builds/"
  cp "$cache/lastBuild.json" "$pkg/llama/lastBuild.json"
  echo "engine: cached native build restored from $cache" >&2
  exit 0
fi
# The llama.cpp source, from the git bundle inside the npm package (offline; needs git).
if [ ! -d "$pkg/llama/llama.cpp" ]; then
  npx --no node-llama-cpp source download --skipBuild --noUsageExample >&2
fi
# Keep in sync with ENGINE_CMAKE_OPTIONS in src/backends/llama/runtime.ts (the build folder is named by them).
NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=OFF npx --no node-llama-cpp source build --gpu false >&2
rm -rf "$cache.tmp"
mkdir -p "$cache.tmp"
cp -a "$builds" "$cache.tmp/localBuilds"
cp "$pkg/llama/lastBuild.json" "$cache.tmp/lastBuild.json"
touch "$cache.tmp/done"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "engine: native build cached in $cache" >&2
