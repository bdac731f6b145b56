#!/usr/bin/env node
// The packed-install test: what a user gets from the registry, not what the workspace links.
// Packs every package with `npm pack`, installs the tarballs into an empty project outside the workspace,
// then runs what the READMEs show, exactly as written there:
//   ```js test        an example, run as ESM (.mjs) and as CommonJS (.cjs, its imports turned into
//                     require); its stdout must equal the ```text block that follows it
//   ```yaml file=NAME a file the next commands use, written into the project
//   ```sh test        commands run in the project (bash, one after another); each must exit 0
// Usage: node tools/packed/run.mjs [--keep]   (after `npm run build`)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const keep = process.argv.includes('--keep');

/** The fenced blocks of a README with their info strings, in order. */
export function blocks(markdown) {
  return [...markdown.matchAll(/^```(\S*)([^\n]*)\n([\s\S]*?)^```$/gm)].map(([, lang, info, body]) => ({
    lang,
    info: info.trim(),
    body,
  }));
}

/** An ESM example as CommonJS: named imports become require destructuring; the body runs in an async function. */
export function toCommonJs(source) {
  const body = source.replace(/^import \{([^}]*)\} from '([^']+)';$/gm, (_, names, from) => {
    const fields = names
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => n.replace(/\s+as\s+/, ': '));
    return `const { ${fields.join(', ')} } = require('${from}');`;
  });
  if (/^import /m.test(body))
    throw new Error(`toCommonJs: only "import { … } from '…';" lines are supported:\n${source}`);
  const requires = body.split('\n').filter((l) => l.startsWith('const {') && l.includes('require('));
  const rest = body.split('\n').filter((l) => !requires.includes(l));
  return `${requires.join('\n')}\n(async () => {\n${rest.join('\n')}\n})().catch((error) => { console.error(error); process.exit(1); });\n`;
}

function run(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

// Private workspace packages (@rmt/testing) are never published, so they are neither packed nor installed.
const packageDirs = ['packages', 'apps']
  .flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n)))
  .filter(
    (d) => existsSync(join(d, 'package.json')) && !JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).private,
  );

const work = mkdtempSync(join(tmpdir(), 'rmt-packed-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'project');
mkdirSync(tarballs);
mkdirSync(project);
let failures = 0;
const fail = (what, detail) => {
  failures += 1;
  console.error(`FAIL ${what}\n${detail}\n`);
};

try {
  console.log(`packing ${packageDirs.length} packages into ${tarballs}`);
  const packed = JSON.parse(
    execFileSync(
      'npm',
      ['pack', '--json', '--pack-destination', tarballs, ...packageDirs.map((d) => `./${relative(root, d)}`)],
      { cwd: root, encoding: 'utf8' },
    ),
  );
  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    if (!files.includes('README.md')) fail(`${p.name}: tarball`, 'has no README.md');
    if (files.some((f) => f.startsWith('src/') || f.endsWith('.test.js')))
      fail(`${p.name}: tarball`, 'ships sources or tests');
  }

  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'rmt-packed-install', private: true, version: '0.0.0' }, null, 2)}\n`,
  );
  console.log('installing the tarballs into an empty project');
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => join(tarballs, p.filename))],
    project,
  );
  if (install.code !== 0) throw new Error(`npm install of the tarballs failed:\n${install.stderr}`);
  const linked = readdirSync(join(project, 'node_modules/@rmt'));
  console.log(`installed: ${linked.map((n) => `@rmt/${n}`).join(', ')}`);

  for (const dir of packageDirs) {
    const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
    const readme = join(dir, 'README.md');
    if (!existsSync(readme)) {
      fail(name, 'has no README.md');
      continue;
    }
    const list = blocks(readFileSync(readme, 'utf8'));
    let ran = 0;
    list.forEach((block, i) => {
      const file = /^file=(\S+)$/.exec(block.info)?.[1];
      if (file) writeFileSync(join(project, file), block.body);
      if (block.info !== 'test') return;
      ran += 1;
      const label = `${name} README block ${ran}`;
      if (block.lang === 'js') {
        const expected = list[i + 1]?.lang === 'text' ? list[i + 1].body : undefined;
        if (expected === undefined)
          return fail(label, 'a ```js test block must be followed by a ```text block with its output');
        const base = `example-${name.replace(/\W+/g, '-')}-${ran}`;
        writeFileSync(join(project, `${base}.mjs`), block.body);
        writeFileSync(join(project, `${base}.cjs`), toCommonJs(block.body));
        for (const ext of ['mjs', 'cjs']) {
          const r = run('node', [`${base}.${ext}`], project);
          if (r.code !== 0) fail(`${label} (${ext})`, r.stderr);
          else if (r.stdout !== expected) fail(`${label} (${ext})`, `expected:\n${expected}\ngot:\n${r.stdout}`);
          else console.log(`ok   ${label} (${ext === 'mjs' ? 'ESM' : 'CommonJS'})`);
        }
      } else if (block.lang === 'sh') {
        const r = run('bash', ['-euo', 'pipefail', '-c', block.body], project);
        if (r.code !== 0)
          fail(label, `${block.body}\nexit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
        else console.log(`ok   ${label} (sh: ${block.body.trim().split('\n').join(' && ')})`);
      }
    });
    if (ran === 0) fail(name, 'README has no ```js test or ```sh test example');
  }
} catch (error) {
  fail('packed install', error.stack ?? String(error));
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('packed-install test passed');
