/**
 * Case lists of the reference HDF5 layout (`train.list`, `eval.list`, `test.list`): one case id
 * per line; blank lines and surrounding whitespace (including Windows line ends) are ignored.
 */
import { readFileSync } from 'node:fs';
import { fileError, TracocoError } from '../errors.js';

/** The ids in file order. Throws a TracocoError naming the list when it is missing, empty or malformed. */
export function readCaseList(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TracocoError('case list not found', { file: path });
    throw fileError(path, 'cannot read case list', err);
  }
  const ids: string[] = [];
  const lineOf = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const id = raw.trim();
    if (id === '') return;
    const line = i + 1;
    // Ids become path components (ROOT/<id>/...): refuse anything that could leave the root.
    if (/[\\/]/.test(id) || id === '.' || id === '..') {
      throw new TracocoError(`line ${line}: '${id}' is not a case id (no path separators allowed)`, { file: path });
    }
    const first = lineOf.get(id);
    if (first !== undefined) throw new TracocoError(`line ${line}: case id '${id}' repeats line ${first}`, { file: path });
    lineOf.set(id, line);
    ids.push(id);
  });
  if (ids.length === 0) throw new TracocoError('case list is empty', { file: path });
  return ids;
}
