// npm runs this at install. It compiles native/*.c for this machine with node-gyp (npm's own copy,
// against Node's headers: nothing is downloaded when npm's `nodedir` or node-gyp's cache has them).
// It never fails the install: without a compiler RMT runs the same, on WebAssembly and tfjs ops only.
// Set RMT_SKIP_NATIVE_BUILD=1 to skip it.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

if (process.env.RMT_SKIP_NATIVE_BUILD === '1') process.exit(0);
// npm sets npm_config_node_gyp to its bundled node-gyp; otherwise look beside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath &&
    join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
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
if (!process.env.npm_config_nodedir && existsSync(join(nodeDir, 'include', 'node', 'node_api.h')))
  args.push(`--nodedir=${nodeDir}`);
const result = spawnSync(process.execPath, args, {
  cwd: __dirname,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (result.status !== 0) {
  // node-gyp's log is long; say the one line that names what is missing.
  const lines = `${result.stderr || ''}${result.stdout || ''}`.split('\n');
  const why =
    lines.find((l) => /stack Error:/.test(l))?.replace(/.*stack Error:\s*/, '') ??
    lines.find((l) => /\berror:/.test(l))?.trim() ??
    (lines.some((l) => /find Python/.test(l)) ? 'no Python for node-gyp' : undefined) ??
    (result.error?.message || lines.filter(Boolean).slice(-3).join(' | '));
  console.warn(
    `@rmt/kernels: native build failed (${why}); matmuls stay in WebAssembly (slower, same results within float32)`,
  );
}
