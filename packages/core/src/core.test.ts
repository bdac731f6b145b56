import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRng,
  readInput,
  readSafetensors,
  writeFileAtomic,
  writeFolderAtomic,
  writeSafetensors,
  type TensorMap,
} from './index.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-core-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('createRng', () => {
  it('gives the same sequence for the same seed, number or string alike', () => {
    const a = createRng(42);
    const b = createRng('42');
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(createRng(43).next()).not.toBe(xs[0]);
  });

  it('resumes exactly from a saved (JSON round-tripped) state', () => {
    const rng = createRng('resume');
    for (let i = 0; i < 10; i++) rng.next();
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const expected = Array.from({ length: 8 }, () => rng.next());
    const resumed = createRng(saved);
    expect(Array.from({ length: 8 }, () => resumed.next())).toEqual(expected);
  });
});

describe('files', () => {
  it('writeFileAtomic creates the folder, replaces the file whole and leaves no temporary file', async () => {
    const file = join(root, 'a/b/out.json');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, new Uint8Array([123, 125]));
    expect(readFileSync(file, 'utf8')).toBe('{}');
    expect(readdirSync(join(root, 'a/b'))).toEqual(['out.json']);
  });

  it('writeFolderAtomic shows the old folder until the new one is whole; a failure or a killed writer leaves no trace', async () => {
    const parent = join(root, 'folders');
    const dir = join(parent, 'model');
    await writeFolderAtomic(dir, (tmp) => writeFileAtomic(join(tmp, 'w'), 'v1'));
    // A writer killed mid-fill leaves its temporary beside the folder; the next write removes it.
    mkdirSync(join(parent, '.model.99999.zz.tmp'));
    mkdirSync(join(parent, '.model-other.1.a.tmp')); // not this folder's: kept
    await writeFolderAtomic(dir, async (tmp) => {
      expect(readFileSync(join(dir, 'w'), 'utf8')).toBe('v1');
      await writeFileAtomic(join(tmp, 'w'), 'v2');
    });
    expect(readdirSync(dir)).toEqual(['w']);
    expect(readFileSync(join(dir, 'w'), 'utf8')).toBe('v2');
    await expect(
      writeFolderAtomic(dir, async (tmp) => {
        await writeFileAtomic(join(tmp, 'w'), 'v3');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(readFileSync(join(dir, 'w'), 'utf8')).toBe('v2');
    expect(readdirSync(parent).sort()).toEqual(['.model-other.1.a.tmp', 'model']);
  });

  it('readInput reads bytes or text and names the file and the reason when it cannot', async () => {
    const file = join(root, 'text.txt');
    await writeFileAtomic(file, 'héllo');
    expect(await readInput(file, 'utf8')).toBe('héllo');
    expect((await readInput(file)).length).toBe(6);
    const missing = join(root, 'missing.txt');
    await expect(readInput(missing)).rejects.toThrow(`${missing}: cannot read (no such file)`);
    await expect(readInput(root)).rejects.toThrow(`${root}: cannot read (EISDIR)`);
  });

  it('writeSafetensors / readSafetensors round-trip through a file', async () => {
    const file = join(root, 'w.safetensors');
    const tensors: TensorMap = new Map([['w', { data: new Float32Array([0.5, -1.25]), shape: [1, 2] }]]);
    await writeSafetensors(file, tensors, { step: '3' });
    const back = await readSafetensors(file);
    expect(back.metadata).toEqual({ step: '3' });
    expect(back.tensors.get('w')).toEqual({ data: new Float32Array([0.5, -1.25]), shape: [1, 2] });
    await expect(readSafetensors(join(root, 'none.safetensors'))).rejects.toThrow(/none\.safetensors: cannot read/);
  });
});
