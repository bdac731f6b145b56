// Corpora: plain text files, JSONL with a chosen field (or fields, or a known shape such as GSM8K's and
// MATH's), and folders of them, split into documents.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readInput } from '@rmt/core';

/**
 * Which JSONL fields hold a document's text: one field, a list of fields joined with `joinWith` (e.g.
 * `[question, answer]`), or `auto`: each file's shape is read from its first row — `text`; else GSM8K's
 * `question` + `answer`; else MATH's `problem` + `solution` (see {@link JSONL_SHAPES}).
 */
export type CorpusField = 'auto' | string | readonly string[];

export interface CorpusSource {
  /** A file or a folder (read recursively, files in name order). */
  path: string;
  /** `auto` picks by extension: .jsonl → jsonl, anything else → text. */
  format?: 'auto' | 'text' | 'jsonl';
  /** JSONL: the field(s) holding the text (default `auto`). */
  field?: CorpusField;
  /** JSONL with several fields: what goes between them (default a blank line). */
  joinWith?: string;
  /** Text: the separator between documents (default: `<|endoftext|>`, TinyStories' convention). */
  separator?: string;
  /** Keep only the first N documents, in reading order (default: all). */
  maxDocuments?: number | null;
}

const DEFAULT_SEPARATOR = '<|endoftext|>';
const DEFAULT_JOIN = '\n\n';

/**
 * The shapes `field: auto` recognises, tried in this order on a file's first row. GSM8K's answer keeps its
 * worked solution with the `<<…>>` calculator notes and the final `#### N` line: as text, that is what comes
 * next after the question.
 */
export const JSONL_SHAPES: readonly { name: string; fields: readonly string[] }[] = [
  { name: 'text', fields: ['text'] },
  { name: 'GSM8K', fields: ['question', 'answer'] },
  { name: 'MATH', fields: ['problem', 'solution'] },
];

function decodeUtf8(bytes: Uint8Array, file: string): string {
  if (bytes.includes(0)) throw new Error(`${file}: looks binary (contains NUL bytes); a corpus must be UTF-8 text`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    // Find the first bad byte so the user can look at it.
    let offset = 0;
    for (let lo = 0, hi = bytes.length; lo < hi;) {
      const mid = (lo + hi) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid));
        lo = mid + 1;
        offset = mid;
      } catch {
        hi = mid;
      }
    }
    throw new Error(`${file}: invalid UTF-8 near byte ${offset}`, { cause: error });
  }
}

/** Code-unit order, not localeCompare: the same file order (hence documents and held-out split) on every machine. */
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `${path}: cannot read corpus (${error.code === 'ENOENT' ? 'no such file or folder' : error.code})`,
      { cause: error },
    );
  });
  if (!info.isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true })).sort(byName);
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push(...(await filesUnder(join(path, e.name))));
    else if (/\.(txt|text|md|jsonl)$/i.test(e.name)) out.push(join(path, e.name));
  }
  if (out.length === 0) throw new Error(`${path}: the corpus folder has no .txt, .text, .md or .jsonl files`);
  return out;
}

/** A row's field names for an error message (the first 20). */
function fieldList(row: Record<string, unknown>): string {
  const names = Object.keys(row);
  if (names.length === 0) return 'the row has no fields';
  return `the row has: ${names.slice(0, 20).join(', ')}${names.length > 20 ? `, … (${names.length} in all)` : ''}`;
}

/** The fields `auto` reads in a file, from its first row; an error lists the row's fields when no shape fits. */
function autoFields(row: Record<string, unknown>, where: string): readonly string[] {
  const shape = JSONL_SHAPES.find((s) => s.fields.every((f) => typeof row[f] === 'string'));
  if (shape) return shape.fields;
  // A shape whose fields are there but not strings: report it as such below (field 'text' is not a string).
  const partial = JSONL_SHAPES.find((s) => s.fields.every((f) => f in row));
  if (partial) return partial.fields;
  const known = JSONL_SHAPES.map((s) => `${s.fields.join(' + ')} (${s.name})`).join(', ');
  throw new Error(
    `${where}: data.corpus.field is auto, and the row matches no known shape (${known}); ${fieldList(row)} — set data.corpus.field to the field, or a list of fields to join`,
  );
}

function readJsonl(text: string, file: string, source: CorpusSource, room: number): string[] {
  const docs: string[] = [];
  const configured = source.field ?? 'auto';
  let fields: readonly string[] | undefined =
    configured === 'auto' ? undefined : typeof configured === 'string' ? [configured] : configured;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && docs.length < room; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const where = `${file}:${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: invalid JSON (${(error as Error).message})`, { cause: error });
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new Error(
        `${where}: expected a JSON object, got ${Array.isArray(row) ? 'an array' : row === null ? 'null' : typeof row}`,
      );
    const record = row as Record<string, unknown>;
    fields ??= autoFields(record, where);
    const parts = fields.map((f) => {
      const value = record[f];
      if (typeof value === 'string') return value;
      throw new Error(
        `${where}: field '${f}' is ${value === undefined ? `missing (${fieldList(record)})` : `not a string (${value === null ? 'null' : typeof value})`}`,
      );
    });
    const doc = parts.filter((p) => p.trim() !== '').join(source.joinWith ?? DEFAULT_JOIN);
    if (doc.trim() !== '') docs.push(doc);
  }
  return docs;
}

/**
 * Read a corpus into documents (non-empty after trimming), at most `maxDocuments` of them, files in name
 * order. Errors name the file, line or byte.
 */
export async function readCorpus(source: CorpusSource): Promise<string[]> {
  const docs: string[] = [];
  const limit = source.maxDocuments ?? Infinity;
  for (const file of await filesUnder(source.path)) {
    if (docs.length >= limit) break; // later files are not read at all
    const text = decodeUtf8(await readInput(file), file);
    const format =
      source.format === undefined || source.format === 'auto'
        ? file.toLowerCase().endsWith('.jsonl')
          ? 'jsonl'
          : 'text'
        : source.format;
    if (format === 'jsonl') docs.push(...readJsonl(text, file, source, limit - docs.length));
    else {
      for (const doc of text.split(source.separator ?? DEFAULT_SEPARATOR)) {
        if (docs.length >= limit) break;
        if (doc.trim() !== '') docs.push(doc.trim());
      }
    }
  }
  if (docs.length === 0) throw new Error(`${source.path}: the corpus has no documents`);
  return docs;
}
