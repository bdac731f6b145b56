// npm runs this at install. It compiles native/gemm.c for this machine with node-gyp (npm's own copy,
// against Node's headers: nothing is downloaded when npm's `nodedir` or node-gyp's cache has them).
// It never fails the install: without a compiler RMT runs the same, with WebAssembly's own matmuls.
// Set RMT_SKIP_NATIVE_BUILD=1 to skip it.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

if (process.env.RMT_SKIP_NATIVE_BUILD === '1') process.exit(0);
// npm sets npm_config_node_gyp to its bundled node-gyp; otherwise look beside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));
if (!gyp) {
  console.warn('@rmt/kernels: node-gyp not found; matmuls stay in WebAssembly (slower, same results within float32)');
  process.exit(0);
}
const args = [gyp, 'rebuild'];
// Node's own headers, when installed beside it (Debian, nvm, official tarballs), so node-gyp needs no download.
const nodeDir = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
const result = spawnSync(process.execPath, args, { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  const why = `${result.stderr || ''}${result.stdout || ''}`.trim().split('\n').slice(-3).join(' | ');
  console.warn(`@rmt/kernels: native build failed, matmuls stay in WebAssembly (${why || result.error?.message})`);
}
