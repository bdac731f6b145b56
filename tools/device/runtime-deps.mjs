#!/usr/bin/env node
// The packages `rmt` loads at run time: the production dependency closure of apps/runner, each resolved as
// Node resolves it (node_modules beside the dependent, then upward), printed as paths relative to the root.
// (`npm ls --omit=dev --parseable` leaves out deduplicated entries.) Used by prepare.sh for the device carry.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const seen = new Set();
const found = [];
function visit(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) {
    let at = dir;
    let path;
    for (;;) {
      const candidate = join(at, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        path = candidate;
        break;
      }
      if (at === root || at === dirname(at)) break;
      at = dirname(at);
    }
    if (!path) continue; // an optional peer that is not installed
    const real = realpathSync(path);
    if (seen.has(real)) continue;
    seen.add(real);
    if (relative(root, real).split('/').includes('node_modules')) found.push(relative(root, real));
    visit(real);
  }
}
visit(join(root, 'apps', 'runner'));
process.stdout.write(`${found.sort().join('\n')}\n`);
