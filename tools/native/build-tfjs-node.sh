#!/usr/bin/env bash
# Air-gapped native backend: install @tensorflow/tfjs-node without its download step and compile its own
# binding with node-gyp against the TensorFlow C API of a local TensorFlow CPU wheel. Nothing is fetched
# but the npm package itself. Optional: RMT never needs it; `rmt info` shows it as `tensorflow` once built.
#
#   bash tools/native/build-tfjs-node.sh [path/to/tensorflow_cpu-*.whl]
#
# Environment: TF_WHEEL (the wheel), RMT_NATIVE_CACHE (where the wheel's libraries are unpacked,
# default ~/.cache/rmt/native; ~850 MB, never inside the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=4.22.0

wheel=${1:-${TF_WHEEL:-}}
if [ -z "$wheel" ]; then
  for dir in /opt/pypi /root/.cache/pip "$HOME/.cache/pip" /usr/share/python-wheels; do
    [ -d "$dir" ] && wheel=$(find "$dir" -name 'tensorflow_cpu-*.whl' 2>/dev/null | sort | tail -1) && [ -n "$wheel" ] && break
  done
fi
if [ -z "$wheel" ]; then
  echo "Looking for a TensorFlow CPU wheel on this machine (pass its path to skip the search)..." >&2
  wheel=$(find / -xdev -name 'tensorflow_cpu-*.whl' 2>/dev/null | sort | tail -1 || true)
fi
[ -n "$wheel" ] && [ -f "$wheel" ] || { echo "error: no tensorflow_cpu-*.whl found; pass its path as the first argument" >&2; exit 1; }
echo "wheel: $wheel"

cache=${RMT_NATIVE_CACHE:-$HOME/.cache/rmt/native}/$(basename "$wheel" .whl)
if [ ! -f "$cache/.complete" ]; then
  echo "unpacking the TensorFlow C libraries and headers to $cache ..."
  rm -rf "$cache" && mkdir -p "$cache"
  python3 - "$wheel" "$cache" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2') or name.startswith('tensorflow/include/'):
            z.extract(name, out)
PY
  touch "$cache/.complete"
fi

cd "$root"
if [ ! -f node_modules/@tensorflow/tfjs-node/package.json ]; then
  echo "installing @tensorflow/tfjs-node@$version without its install script (which would download libtensorflow)..."
  npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$version"
fi
pkg=$root/node_modules/@tensorflow/tfjs-node

# tfjs-node links -ltensorflow -ltensorflow_framework from deps/lib and includes deps/include.
# libtensorflow_cc exports every TF C API symbol the binding calls; the SONAMEs need the .so.2 names too.
mkdir -p "$pkg/deps/lib"
ln -sfn "$cache/tensorflow/libtensorflow_cc.so.2" "$pkg/deps/lib/libtensorflow.so"
ln -sfn "$cache/tensorflow/libtensorflow_cc.so.2" "$pkg/deps/lib/libtensorflow.so.2"
ln -sfn "$cache/tensorflow/libtensorflow_cc.so.2" "$pkg/deps/lib/libtensorflow_cc.so.2"
ln -sfn "$cache/tensorflow/libtensorflow_framework.so.2" "$pkg/deps/lib/libtensorflow_framework.so"
ln -sfn "$cache/tensorflow/libtensorflow_framework.so.2" "$pkg/deps/lib/libtensorflow_framework.so.2"
ln -sfn "$cache/tensorflow/include" "$pkg/deps/include"

gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || { echo "error: npm's bundled node-gyp not found at $gyp" >&2; exit 1; }
echo "compiling tfjs-node's binding with node-gyp (Node's own headers, no download)..."
(cd "$pkg" && node "$gyp" rebuild --nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" \
  --module_name=tfjs_binding --module_path="$pkg/lib/napi-v8" --napi_build_version=8 >/dev/null)
# node-pre-gyp asks for the newest N-API version Node supports; the binding is N-API 8, which Node 20 runs.
for v in 9 10; do ln -sfn napi-v8 "$pkg/lib/napi-v$v"; done

node -e "import('@tensorflow/tfjs-node').then(tf => tf.ready().then(() => { const x = tf.tensor([1, 2, 3]); console.log('tfjs-node', tf.version.tfjs, 'backend', tf.getBackend(), 'sum', tf.sum(x).dataSync()[0]); }))"
echo "done: \`npx rmt info\` now lists 'tensorflow' as available (npm ci removes it; rerun this script after)."
