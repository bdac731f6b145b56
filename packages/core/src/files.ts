import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/**
 * Write a file so that readers see either the old content or the whole new content, never a torn file:
 * write a temporary file beside it, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Write a folder so that readers see the old folder or the whole new one, never a part of it: `fill` writes
 * into a temporary sibling, which then replaces `dir` in one rename. A failure removes the temporary and leaves
 * `dir` as it was; temporaries of this folder left by killed writers are removed first.
 */
export async function writeFolderAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const prefix = `.${basename(dir)}.`;
  const stale = (name: string) => name.startsWith(prefix) && /^\d+\.[0-9a-z]+\.tmp$/.test(name.slice(prefix.length));
  for (const name of await readdir(parent))
    if (stale(name)) await rm(join(parent, name), { recursive: true, force: true });
  const tmp = tempName(dir);
  await mkdir(tmp);
  try {
    await fill(tmp);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  await syncDirectory(parent);
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable. Some filesystems refuse fsync on directories: that is not an error.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

/** Read a file; a failure is an error that names the file and the reason (ENOENT, EACCES, …). */
export async function readInput(path: string): Promise<Buffer>;
export async function readInput(path: string, encoding: 'utf8'): Promise<string>;
export async function readInput(path: string, encoding?: 'utf8'): Promise<Buffer | string> {
  try {
    return encoding ? await readFile(path, encoding) : await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `${path}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? (error as Error).message)})`,
      { cause: error },
    );
  }
}
