// Training checkpoints: a folder per step holding the model (safetensors + config + tokenizer), the
// optimizer moments (safetensors) and the loop state (JSON: step, RNG states, sampler, budget, cursor).
// Written as one folder atomically (saveModel), so a checkpoint folder is always complete.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readInput, readSafetensors, writeFileAtomic, writeSafetensors } from '@rmt/core';
import { loadModel, saveModel, type LlamaModel, type Tokenizer } from '@rmt/model';
import type { AdamW, AdamWState } from './optimizer.js';

export const STATE_FILE = 'state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';

export interface CheckpointInfo {
  step: number;
  dir: string;
}

function stepDir(root: string, step: number): string {
  return join(root, `step-${String(step).padStart(6, '0')}`);
}

/** Complete checkpoints under `root`, oldest first. */
export async function listCheckpoints(root: string): Promise<CheckpointInfo[]> {
  if (!existsSync(root)) return [];
  const out: CheckpointInfo[] = [];
  for (const name of await readdir(root)) {
    const m = /^step-(\d+)$/.exec(name);
    if (m && existsSync(join(root, name, STATE_FILE))) out.push({ step: Number(m[1]), dir: join(root, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

export async function saveCheckpoint(
  root: string,
  step: number,
  parts: { model: LlamaModel; tokenizer: Tokenizer; optimizer: AdamW; state: Record<string, unknown> },
  keepLastN: number,
): Promise<string> {
  const final = stepDir(root, step);
  try {
    await saveModel(final, parts.model, parts.tokenizer, async (tmp) => {
      const opt = await parts.optimizer.state();
      const moments = new Map<string, { data: Float32Array; shape: number[] }>();
      parts.optimizer.params.forEach((p, i) => {
        moments.set(`m.${i}`, { data: opt.m[i]!, shape: p.shape });
        moments.set(`v.${i}`, { data: opt.v[i]!, shape: p.shape });
      });
      await writeSafetensors(join(tmp, OPTIMIZER_FILE), moments, { step: String(opt.step) });
      await writeFileAtomic(
        join(tmp, STATE_FILE),
        `${JSON.stringify({ ...parts.state, step, optimizerStep: opt.step }, null, 1)}\n`,
      );
    });
  } catch (error) {
    // Disk full, quota, permissions: the partial folder is gone; keep every complete checkpoint, say which is newest.
    const newest = (await listCheckpoints(root)).at(-1);
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `${root}: could not write the checkpoint of step ${step} (${code === 'ENOSPC' ? 'disk full' : (code ?? (error as Error).message)}); ` +
        (newest ? `the newest complete checkpoint, step ${newest.step}, is kept` : 'no earlier checkpoint exists'),
      { cause: error },
    );
  }
  // Keep the newest keepLastN.
  const all = await listCheckpoints(root);
  for (const old of all.slice(0, Math.max(0, all.length - keepLastN)))
    await rm(old.dir, { recursive: true, force: true });
  return final;
}

export interface LoadedCheckpoint {
  model: LlamaModel;
  tokenizer: Tokenizer | undefined;
  optimizerState: AdamWState;
  state: Record<string, unknown> & { step: number };
  dir: string;
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { model, tokenizer } = await loadModel(dir);
  const state = JSON.parse(await readInput(join(dir, STATE_FILE), 'utf8')) as LoadedCheckpoint['state'];
  const { tensors } = await readSafetensors(join(dir, OPTIMIZER_FILE));
  const n = model.parameters().length;
  const get = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${join(dir, OPTIMIZER_FILE)}: missing optimizer moment '${name}'`);
    return t.data;
  };
  const optimizerState: AdamWState = {
    step: Number(state.optimizerStep ?? 0),
    m: Array.from({ length: n }, (_, i) => get(`m.${i}`)),
    v: Array.from({ length: n }, (_, i) => get(`v.${i}`)),
  };
  return { model, tokenizer, optimizerState, state, dir };
}
