#!/usr/bin/env node
// Keeps the config tables of the package READMEs generated from the zod schemas they document, so a
// default or a description changes in one place only. A README marks a table with
//   <!-- config: @rmt/budget budgetConfigSchema -->  …  <!-- /config -->
// and this script rewrites what lies between from the *built* package (run `npm run build` first).
//   node tools/docs/readmes.mjs          rewrite the tables
//   node tools/docs/readmes.mjs --check  exit 1, naming the READMEs, when a table is out of date
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { z } from 'zod'; // the packages' own zod, hoisted to the root node_modules
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

const MARKER = /<!-- config: (\S+) (\w+) -->\n[\s\S]*?<!-- \/config -->/g;

const literal = (v) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/** A JSON Schema node as a short type: `integer ≥ 0`, `'a' \| 'b'`, `[number, number, number]`. */
function typeOf(node) {
  if (node.anyOf) return node.anyOf.map(typeOf).join(' \\| ');
  if (node.const !== undefined) return literal(node.const);
  if (node.enum) return node.enum.map(literal).join(' \\| ');
  switch (node.type) {
    case 'integer':
    case 'number':
      return `${node.type}${range(node)}`;
    case 'array':
      return node.prefixItems ? `[${node.prefixItems.map(typeOf).join(', ')}]` : `${typeOf(node.items ?? {})}[]`;
    case 'object':
      if (!node.properties) return 'object';
      return `{ ${Object.entries(node.properties)
        .map(([k, v]) => `${k}: ${typeOf(v)}`)
        .join(', ')} }`;
    default:
      return node.type ?? 'any';
  }
}

function range(node) {
  const SAFE = Number.MAX_SAFE_INTEGER;
  const lo = node.exclusiveMinimum ?? (node.minimum !== undefined && node.minimum !== -SAFE ? node.minimum : undefined);
  const hi = node.exclusiveMaximum ?? (node.maximum !== undefined && node.maximum !== SAFE ? node.maximum : undefined);
  const open = { lo: node.exclusiveMinimum !== undefined, hi: node.exclusiveMaximum !== undefined };
  if (lo !== undefined && hi !== undefined) return ` in ${open.lo ? '(' : '['}${lo}, ${hi}${open.hi ? ')' : ']'}`;
  if (lo !== undefined) return ` ${open.lo ? '>' : '≥'} ${lo}`;
  if (hi !== undefined) return ` ${open.hi ? '<' : '≤'} ${hi}`;
  return '';
}

/**
 * One row per leaf field; a nested object with its own fields becomes `parent.child` rows. The default shown
 * is what an omitted section gives. A field without a default is required (in its parent, if that is optional).
 */
function rows(schema, prefix = '', optionalParent = undefined, parentDefault = undefined) {
  const out = [];
  for (const [name, node] of Object.entries(schema.properties ?? {})) {
    const field = `${prefix}${name}`;
    if (node.type === 'object' && node.properties && !node.anyOf) {
      const optional = node.default === undefined && !(schema.required ?? []).includes(name);
      out.push(...rows(node, `${field}.`, optional ? field : optionalParent, parentDefault?.[name] ?? node.default));
      continue;
    }
    const required = optionalParent ? `(required in \`${optionalParent}\`)` : '(required)';
    // The section's own default wins: `pretrain.optimizer` omitted gives its β₂ 0.95, not the field's 0.999.
    const value = parentDefault?.[name] ?? node.default;
    const def = value === undefined ? required : `\`${JSON.stringify(value)}\``;
    const text = (node.description ?? '').replace(/\|/g, '\\|');
    out.push(`| \`${field}\` | ${typeOf(node)} | ${def} | ${text} |`);
  }
  return out;
}

export function configTable(schema) {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return ['| field | type | default | meaning |', '| --- | --- | --- | --- |', ...rows(json)].join('\n');
}

async function render(readme) {
  const text = readFileSync(readme, 'utf8');
  let out = text;
  for (const [whole, pkg, exportName] of text.matchAll(MARKER)) {
    const module = await import(pkg); // the workspace's own build, through node_modules/@rmt
    const schema = module[exportName];
    if (!schema?.safeParse) throw new Error(`${relative(root, readme)}: ${pkg} has no zod schema '${exportName}'`);
    out = out.replace(whole, `<!-- config: ${pkg} ${exportName} -->\n${configTable(schema)}\n<!-- /config -->`);
  }
  return { text, out };
}

const readmes = ['packages', 'apps']
  .flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(root, dir, name, 'README.md')))
  .filter(existsSync);

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const readme of readmes) {
    const { text, out } = await render(readme);
    if (text === out) continue;
    stale.push(relative(root, readme));
    if (!check) writeFileSync(readme, out);
  }
  if (check && stale.length > 0) {
    console.error(
      `config tables out of date in: ${stale.join(', ')}\nrun \`npm run docs\` (or node tools/docs/readmes.mjs) and commit`,
    );
    process.exit(1);
  }
  console.log(stale.length === 0 ? 'config tables up to date' : `${check ? 'stale' : 'rewrote'}: ${stale.join(', ')}`);
}
