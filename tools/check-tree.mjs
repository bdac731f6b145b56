#!/usr/bin/env node
// `node tools/check-tree.mjs` (CI runs it). The repository stands alone and its account of the method stays
// true: (1) every file METHOD.md names exists, and every function it names beside a file (`file` — `name`)
// is defined in that file; (2) no tracked file refers to files outside the repository (the shared notes a
// clone does not have), except the one overridable default of the test-data folder in @rmt/testing.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const problems = [];

const method = readFileSync(join(root, 'METHOD.md'), 'utf8');
const isPath = (s) => /^(packages|apps|tools|bench|examples)\/[\w./-]+\.(ts|mjs|md|yaml|json|c|h)$/.test(s);
for (const [, path] of method.matchAll(/`([^`\s]+)`/g))
  if (isPath(path) && !existsSync(join(root, path))) problems.push(`METHOD.md names ${path}, which does not exist`);
// `file` — `a`, `b.c` and `d`: each name (the part after the last dot for a method) is declared in the file.
for (const [, path, names] of method.matchAll(/`([^`\s]+)` — ((?:`[^`]+`(?:, | and | or |, and )?)+)/g)) {
  if (!isPath(path) || !existsSync(join(root, path))) continue;
  const text = readFileSync(join(root, path), 'utf8');
  for (const [, name] of names.matchAll(/`([^`]+)`/g)) {
    const id = name.replace(/\(.*$/, '').split('.').at(-1);
    if (!/^\w+$/.test(id)) continue;
    const declared = new RegExp(
      `(function\\*?|class|const|let|interface|type|enum)\\s+${id}\\b|^\\s*(async\\s+)?(static\\s+)?${id}\\s*[(<]|^\\s*(readonly\\s+)?${id}\\s*[:=]`,
      'm',
    );
    if (!declared.test(text)) problems.push(`METHOD.md says ${path} defines ${name}; it does not`);
  }
}

const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const outside = /\.\.\/shared\b|\b(SPEC|DESIGN|TOOLCHAIN|PROTOTYPE)\.md\b/;
const allowed = new Set(['packages/testing/src/index.ts', 'tools/check-tree.mjs']);
for (const file of tracked) {
  if (
    allowed.has(file) ||
    !existsSync(join(root, file)) ||
    /\.(safetensors|bin|png|lock)$|package-lock\.json$/.test(file)
  )
    continue;
  readFileSync(join(root, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (outside.test(line))
        problems.push(`${file}:${i + 1} refers outside the repository: ${line.trim().slice(0, 100)}`);
    });
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`tree: METHOD.md's pointers hold; nothing refers outside the repository (${tracked.length} files)`);
