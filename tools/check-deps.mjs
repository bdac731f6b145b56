#!/usr/bin/env node
// `node tools/check-deps.mjs` (CI runs it). Dependencies are minimal and honest: every package declares exactly what its sources import (dependencies
// or peer dependencies), nothing more; only @rmt/backend depends on a @tensorflow package; @rmt/budget and
// @rmt/core depend on no tensor library and no other RMT package; no published package depends on a private
// one (@rmt/testing). Exits 1, naming the package and the dependency, otherwise.
//
// The order, bottom up (`a ← b, c`: a depends on b and c):
//   core, budget, kernels            nothing of RMT
//   backend                          ← kernels (the only one with TensorFlow.js)
//   tokenizers                       ← core (no tensor library)
//   model                            ← backend, core, tokenizers
//   data                             ← tokenizers, core (no tensor library)
//   curriculum                       ← data, core (no tensor library: the scorer is a function)
//   dual-loss                        ← backend
//   eval                             ← backend, model, data
//   sampler-failure-replay           ← curriculum, core
//   engine                           ← backend, core, model (the inference-engine client and `rmt serve`)
//   trainer                          ← backend, budget, core, curriculum, data, dual-loss, engine, model
//   runner (apps/runner)             ← all of them but kernels (sampler packages are loaded by name)
//   testing (private, tests only)    ← backend
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageDirs = ['packages', 'apps'].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n)));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    // Tests and their support files (test-*.ts) are not shipped code: their imports are dev dependencies.
    return /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) && !e.name.startsWith('test-') ? [path] : [];
  });
}

/** Package names a source file imports: static `from '…'`, side-effect `import '…'`, dynamic `import('…')`. */
function imported(text) {
  const specifiers = [...text.matchAll(/(?:from\s+|import\s+|import\()'([^'.][^']*)'/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

/** Every workspace package by name: a published one must not depend on a private one. */
const rmtPackages = new Map(
  packageDirs.map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).map((p) => [p.name, p]),
);

const problems = [];
for (const dir of packageDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const declared = Object.keys(pkg.dependencies ?? {});
  const peers = Object.keys(pkg.peerDependencies ?? {});
  // A plugin package name in a comment or a config example is not an import: only real import forms count.
  const used = new Set(sources(join(dir, 'src')).flatMap((f) => imported(readFileSync(f, 'utf8'))));
  for (const d of declared)
    if (!used.has(d)) problems.push(`${pkg.name}: depends on ${d}, which its sources never import`);
  for (const u of used)
    if (!declared.includes(u) && !peers.includes(u)) problems.push(`${pkg.name}: imports ${u} without declaring it`);
  const tensorDeps = [...declared, ...peers].filter((d) => d.startsWith('@tensorflow/'));
  if (pkg.name !== '@rmt/backend' && tensorDeps.length > 0)
    problems.push(`${pkg.name}: depends on ${tensorDeps.join(', ')}; only @rmt/backend may`);
  for (const base of ['@rmt/budget', '@rmt/core']) {
    if (pkg.name === base && [...declared, ...peers].some((d) => d.startsWith('@rmt/') || d.startsWith('@tensorflow/')))
      problems.push(`${base}: must depend on no other RMT package and no tensor library`);
  }
  for (const d of declared) {
    const target = rmtPackages.get(d);
    if (target?.private && !pkg.private)
      problems.push(`${pkg.name}: depends on the private ${d}, which is never published`);
  }
  for (const p of peers)
    if (!pkg.peerDependenciesMeta?.[p]?.optional) problems.push(`${pkg.name}: peer ${p} is not marked optional`);
}

// These must not pull in TensorFlow.js, even through another RMT package: a user who reads corpora, builds
// prompts or tokenizes should not install a tensor library for it.
const TENSOR_FREE = [
  '@rmt/core',
  '@rmt/budget',
  '@rmt/tokenizers',
  '@rmt/data',
  '@rmt/curriculum',
  '@rmt/sampler-failure-replay',
];
const closure = (name, seen = new Set()) => {
  for (const d of Object.keys(rmtPackages.get(name)?.dependencies ?? {})) if (!seen.has(d)) closure(d, seen.add(d));
  return seen;
};
for (const name of TENSOR_FREE) {
  const heavy = [...closure(name)].filter((d) => d === '@rmt/backend' || d.startsWith('@tensorflow/'));
  if (heavy.length > 0)
    problems.push(
      `${name}: must stay free of tensor libraries, but depends (through its dependencies) on ${heavy.join(', ')}`,
    );
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`dependencies honest in ${packageDirs.length} packages`);
