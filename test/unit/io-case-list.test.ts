import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaseList } from '../../src/shared/io/index.js';

import { tempDir } from '../support/env.js';
import { throwsNaming } from '../support/assertions.js';

test('reads one id per line in order, ignoring blank lines, whitespace and CRLF', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'train.list');
    writeFileSync(file, 'case_b\r\n\n  case_a  \n\t\ncase_c');
    assert.deepEqual(readCaseList(file), ['case_b', 'case_a', 'case_c']);
  } finally {
    dir.cleanup();
  }
});

test('an empty or blank-only list is an error naming the file', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'eval.list');
    writeFileSync(file, '\n  \n\n');
    throwsNaming(() => readCaseList(file), file, /empty/);
  } finally {
    dir.cleanup();
  }
});

test('a missing list, repeated ids and path-like ids are errors naming the file', () => {
  const dir = tempDir();
  try {
    const missing = join(dir.path, 'test.list');
    throwsNaming(() => readCaseList(missing), missing, /not found/);
    const repeated = join(dir.path, 'repeated.list');
    writeFileSync(repeated, 'a\nb\na\n');
    throwsNaming(() => readCaseList(repeated), repeated, /line 3: case id 'a' repeats line 1/);
    const pathLike = join(dir.path, 'path.list');
    writeFileSync(pathLike, 'a\n../etc\n');
    throwsNaming(() => readCaseList(pathLike), pathLike, /line 2/);
  } finally {
    dir.cleanup();
  }
});
