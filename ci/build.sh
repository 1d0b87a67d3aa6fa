#!/usr/bin/env bash
# Configures and builds one preset (default: ci) into build/<preset>. Re-running only rebuilds
# what changed: one build tree per preset, Ninja, never a clean rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-ci}"
if [ ! -f "build/$preset/build.ninja" ]; then
  cmake --preset "$preset" >/dev/null
fi
# Two cores: let Ninja use both, but no more (it would otherwise start nproc+2 jobs).
cmake --build --preset "$preset" -j "$(nproc)"
