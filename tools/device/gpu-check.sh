#!/usr/bin/env bash
# On an NVIDIA GPU machine (no Node, no network; see README "Backends"): the webgpu backend on the real GPU.
# Brought along by tools/device/prepare.sh in .device-carry/ (the device tool's `carry`). Writes figures to
# $OUT (or bench/results/device/). Finishes in a few minutes: rmt info, the bench's d128 and SmolLM2-135M
# shapes on webgpu and wasm, PyTorch CUDA on the same shapes, and a short RMT run on webgpu.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-bench/results/device}; mkdir -p "$out"
carry=.device-carry
work=$(mktemp -d)
xz -dc "$carry/node.xz" >"$work/node" && chmod +x "$work/node"
tar -xJf "$carry/runtime.tar.xz"
export PATH="$work:$PATH:/sbin:/usr/sbin"
# @rmt/kernels was compiled for the preparing machine's CPU (-march=native): where this CPU lacks one of its
# instructions, a probe dies (SIGILL) and the kernels are turned off rather than killing every run.
node -e "import('@rmt/kernels').then(({ loadKernels }) => { const s = loadKernels(); if (!s.available) return;
  const a = new Float32Array(4096).fill(0.5); s.kernels.matmul(null, a, a, new Float32Array(4096), 1, 1, 1, 64, 64, 64, false, false);
  s.kernels.exp(null, a, a, 4096); })" 2>/dev/null || export RMT_NATIVE_KERNELS=0
# Vulkan: the loader (the machine's, else the carried one) and NVIDIA's ICD, named explicitly.
ldconfig -p | grep -q libvulkan.so.1 || export LD_LIBRARY_PATH="$PWD/$carry${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)
if [ -z "$icd" ]; then
  glx=$(ldconfig -p | sed -n 's/.*=> \(.*libGLX_nvidia.so.0\)$/\1/p' | head -1)
  icd="$work/nvidia_icd.json"
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "${glx:-libGLX_nvidia.so.0}" >"$icd"
fi
export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; node --version; echo "ICD $icd"; grep -m1 "model name" /proc/cpuinfo; echo "RMT_NATIVE_KERNELS=${RMT_NATIVE_KERNELS:-1}"; } >"$out/machine.txt" 2>&1
node apps/runner/dist/cli.js info --json >"$out/info.json" 2>"$out/info.err"
# The bench's shapes, each backend in its own process, and PyTorch on CUDA (bench/torch_scale.py --device cuda).
timeout 420 node bench/scale.mjs --scale --reps 3 --backends webgpu,wasm --shapes d128,smollm2-135m --json --no-save >"$out/scale.json" 2>"$out/scale.err"
python3 bench/torch_scale.py "$(node -e "process.stdout.write(JSON.stringify({model:{dim:576,nLayers:30,nHeads:9,nKvHeads:3,hiddenDim:1536,vocabSize:49152,ropeTheta:100000},batch:4,seqLen:128,decode:{batch:16,prompt:16,newTokens:32}}))")" 5 3 --device cuda >"$out/torch-cuda-135m.json" 2>"$out/torch.err"
python3 bench/torch_scale.py '{"model":{"dim":128,"nLayers":4,"nHeads":4,"nKvHeads":4,"hiddenDim":344,"vocabSize":512},"batch":8,"seqLen":64,"decode":{"batch":16,"prompt":16,"newTokens":32}}' 10 5 --device cuda >"$out/torch-cuda-d128.json" 2>>"$out/torch.err"
# A short RMT run on webgpu (the tiny preset), its metrics kept.
timeout 240 node apps/runner/dist/cli.js run --backend webgpu --preset tiny --out "$work/run" >"$out/run.log" 2>&1
cp "$work"/run/metrics.jsonl "$work"/run/eval.json "$out/" 2>/dev/null || true
ls -la "$out"
