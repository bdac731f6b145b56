#!/usr/bin/env bash
# Here (no GPU): pack what the GPU machine lacks into .device-carry/ (ignored, < 64 MiB), for the device tool's
# `carry`: this machine's Node binary and Vulkan loader, and the built packages with the node_modules they load
# (webgpu's linux-x64 dawn.node only), all xz-compressed. Then, on the device machine: bash tools/device/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
out=.device-carry
rm -rf "$out" && mkdir -p "$out"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$out/" 2>/dev/null || true
# The workspace's dist folders and every package the runner loads (runtime-deps.mjs: its production closure,
# the optional webgpu peers included); no dev tools, no other platforms' Dawn builds, no source maps, types or
# browser bundles.
deps=$(node tools/device/runtime-deps.mjs)
# shellcheck disable=SC2086
tar -cJf "$out/runtime.tar.xz" --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.cts' --exclude='*.d.mts' \
  --exclude='*.min.js' --exclude='*.es2017.js' --exclude='*.fesm.js' \
  packages/*/dist packages/*/package.json apps/runner/dist apps/runner/package.json apps/runner/bin packages/kernels/build \
  node_modules/@rmt $deps
# The carry must hold what the GPU machine runs: the CLI starts from it alone (checked here, without network).
check=$(mktemp -d)
tar -xJf "$out/runtime.tar.xz" -C "$check"
(cd "$check" && node apps/runner/dist/cli.js info --json >/dev/null 2>"$check.err") || {
  cat "$check.err" >&2
  echo "prepare: the carried runtime does not start rmt" >&2; exit 1; }
rm -rf "$check"
du -sh "$out"/*
