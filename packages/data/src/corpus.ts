// Corpora: plain text files, JSONL with a chosen field, and folders of them, split into documents.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readInput } from '@rmt/core';

export interface CorpusSource {
  /** A file or a folder (read recursively, files in name order). */
  path: string;
  /** `auto` picks by extension: .jsonl → jsonl, anything else → text. */
  format?: 'auto' | 'text' | 'jsonl';
  /** JSONL: the string field holding the text. */
  field?: string;
  /** Text: the separator between documents (default: `<|endoftext|>`, TinyStories' convention). */
  separator?: string;
}

const DEFAULT_SEPARATOR = '<|endoftext|>';

function decodeUtf8(bytes: Uint8Array, file: string): string {
  if (bytes.includes(0)) throw new Error(`${file}: looks binary (contains NUL bytes); a corpus must be UTF-8 text`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    // Find the first bad byte so the user can look at it.
    let offset = 0;
    for (let lo = 0, hi = bytes.length; lo < hi; ) {
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

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${path}: cannot read corpus (${error.code === 'ENOENT' ? 'no such file or folder' : error.code})`, { cause: error });
  });
  if (!info.isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push(...(await filesUnder(join(path, e.name))));
    else if (/\.(txt|text|md|jsonl)$/i.test(e.name)) out.push(join(path, e.name));
  }
  return out;
}

/** Read a corpus into documents (non-empty after trimming). Errors name the file, line or byte. */
export async function readCorpus(source: CorpusSource): Promise<string[]> {
  const docs: string[] = [];
  for (const file of await filesUnder(source.path)) {
    const text = decodeUtf8(await readInput(file), file);
    const format = source.format === undefined || source.format === 'auto' ? (file.toLowerCase().endsWith('.jsonl') ? 'jsonl' : 'text') : source.format;
    if (format === 'jsonl') {
      const field = source.field ?? 'text';
      text.split('\n').forEach((line, i) => {
        if (line.trim() === '') return;
        let row: unknown;
        try {
          row = JSON.parse(line);
        } catch (error) {
          throw new Error(`${file}:${i + 1}: invalid JSON (${(error as Error).message})`, { cause: error });
        }
        const value = (row as Record<string, unknown> | null)?.[field];
        if (typeof value !== 'string') throw new Error(`${file}:${i + 1}: field '${field}' is ${value === undefined ? 'missing' : `not a string (${typeof value})`}`);
        if (value.trim() !== '') docs.push(value);
      });
    } else {
      for (const doc of text.split(source.separator ?? DEFAULT_SEPARATOR)) if (doc.trim() !== '') docs.push(doc.trim());
    }
  }
  if (docs.length === 0) throw new Error(`${source.path}: the corpus has no documents`);
  return docs;
}
