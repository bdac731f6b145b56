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
# The workspace's dist folders and the runtime packages (no dev tools, no other platforms' Dawn builds).
tar -cJf "$out/runtime.tar.xz" --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.cts' \
  packages/*/dist apps/runner/dist packages/kernels/build node_modules/@rmt node_modules/@tensorflow node_modules/webgpu \
  node_modules/@webgpu node_modules/debug node_modules/ms $(node -e "const p=require('./apps/runner/package.json');console.log(Object.keys(p.dependencies).filter(d=>!d.startsWith('@rmt/')).map(d=>'node_modules/'+d).join(' '))") 2>/dev/null
du -sh "$out"/*
