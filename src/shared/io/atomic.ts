/**
 * Atomic file writes: the content goes to a temporary file in the destination's directory and
 * is renamed over the destination only when complete, so a reader (or a crashed run) never sees
 * a half-written volume, checkpoint or dataset.json. Same directory = same filesystem = atomic rename.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileError, TracocoError } from '../errors.js';

/** Writes `data` to `path` atomically (temp file + fsync + rename). Throws a TracocoError naming `path`. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await withAtomicPath(path, async (tempPath) => {
    const handle = await open(tempPath, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Runs `write(tempPath)`, which must create the file at `tempPath`, then renames it to `path`.
 * For writers that only take a file name (h5wasm). The temp file is removed when `write` fails.
 */
export async function withAtomicPath(path: string, write: (tempPath: string) => Promise<void> | void): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  await requireDirectory(dir, path);
  const tempPath = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await write(tempPath);
    await rename(tempPath, target);
  } catch (err) {
    await rm(tempPath, { force: true });
    if (err instanceof TracocoError) throw err;
    throw fileError(path, 'cannot write file', err);
  }
}

async function requireDirectory(dir: string, path: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new TracocoError(`cannot write file: directory ${dir} does not exist`, { file: path });
}
