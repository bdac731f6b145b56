#!/usr/bin/env node
// `node tools/check-deps.mjs` (CI runs it). Dependencies are minimal and honest: every package declares exactly what its sources import (dependencies
// or peer dependencies), nothing more; only @rmt/backend depends on a @tensorflow package; @rmt/budget
// depends on no tensor library at all. Exits 1, naming the package and the dependency, otherwise.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageDirs = ['packages', 'apps'].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n)));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [path] : [];
  });
}

/** Package names a source file imports: static `from '…'`, side-effect `import '…'`, dynamic `import('…')`. */
function imported(text) {
  const specifiers = [...text.matchAll(/(?:from\s+|import\s+|import\()'([^'.][^']*)'/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

const problems = [];
for (const dir of packageDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const declared = Object.keys(pkg.dependencies ?? {});
  const peers = Object.keys(pkg.peerDependencies ?? {});
  // A plugin package name in a comment or a config example is not an import: only real import forms count.
  const used = new Set(sources(join(dir, 'src')).flatMap((f) => imported(readFileSync(f, 'utf8'))));
  for (const d of declared) if (!used.has(d)) problems.push(`${pkg.name}: depends on ${d}, which its sources never import`);
  for (const u of used) if (!declared.includes(u) && !peers.includes(u)) problems.push(`${pkg.name}: imports ${u} without declaring it`);
  const tensorDeps = [...declared, ...peers].filter((d) => d.startsWith('@tensorflow/'));
  if (pkg.name !== '@rmt/backend' && tensorDeps.length > 0) problems.push(`${pkg.name}: depends on ${tensorDeps.join(', ')}; only @rmt/backend may`);
  if (pkg.name === '@rmt/budget' && declared.some((d) => d.startsWith('@rmt/') || d.startsWith('@tensorflow/'))) problems.push('@rmt/budget: must stay free of tensor dependencies');
  for (const p of peers) if (!pkg.peerDependenciesMeta?.[p]?.optional) problems.push(`${pkg.name}: peer ${p} is not marked optional`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`dependencies honest in ${packageDirs.length} packages`);
