// Weight sync through disk (prime-rl's file-system mode): each version of the trainer's weights is written
// as a Hugging Face safetensors folder into a temporary folder beside its final place, with a version
// marker file, then renamed into place in one step — so an engine never reads a half-written version —
// and only then is the engine told to reload from it.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readInput, writeFileAtomic } from '@rmt/core';
import { saveModel, type LlamaModel, type Tokenizer } from '@rmt/model';

/** The marker file of a published version: `{ "version": N, "written": ISO time }`, written last. */
export const VERSION_FILE = 'rmt-weights-version.json';

/** The folder of version `version` under `root`. */
export function versionFolder(root: string, version: number): string {
  return join(root, `v${String(version).padStart(8, '0')}`);
}

/**
 * Write `model` (and tokenizer) as version `version` under `root`, atomically (saveModel: a temporary
 * folder with the marker file, then one rename). A version written again (after a resume) replaces the old folder.
 * Returns the version's folder.
 */
export async function publishWeights(
  root: string,
  version: number,
  model: LlamaModel,
  tokenizer?: Tokenizer,
): Promise<string> {
  if (!Number.isInteger(version) || version < 0)
    throw new Error(`publishWeights: version must be a non-negative integer, got ${version}`);
  const final = versionFolder(root, version);
  await saveModel(final, model, tokenizer, (tmp) =>
    writeFileAtomic(join(tmp, VERSION_FILE), `${JSON.stringify({ version, written: new Date().toISOString() })}\n`),
  );
  return final;
}

/** The version a folder holds (its marker file), undefined when it has none or it is unreadable. */
export async function readWeightsVersion(dir: string): Promise<number | undefined> {
  const file = join(dir, VERSION_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const { version } = JSON.parse(await readInput(file, 'utf8')) as { version?: unknown };
    return typeof version === 'number' && Number.isInteger(version) && version >= 0 ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Remove every version folder under `root` but `keep`, and temporary folders left by killed writers. */
export async function pruneWeights(root: string, keep: string): Promise<void> {
  if (!existsSync(root)) return;
  for (const name of await readdir(root)) {
    const path = join(root, name);
    if (path !== keep && /^\.?v\d{8}(\.\d+\.[0-9a-z]+\.tmp)?$/.test(name))
      await rm(path, { recursive: true, force: true });
  }
}
