/** Value parsers for CLI flags: a bad value is a commander error that names the flag. */
import { InvalidArgumentError } from 'commander';
import { parseShape3, type Shape3 } from '../shared/volume.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** A parser for a number in [lo, hi]. */
export function numberIn(lo: number, hi: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!(Number.isFinite(n) && n >= lo && n <= hi)) throw new InvalidArgumentError(`expected a number in [${lo}, ${hi}]`);
    return n;
  };
}

export const unitInterval = numberIn(0, 1);

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer.');
  return n;
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535.');
  return n;
}

export function shapeXYZ(value: string): Shape3 {
  const s = parseShape3(value);
  if (!s) throw new InvalidArgumentError('expected XxYxZ with positive integers, e.g. 112x112x80.');
  return s;
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}

/** Prints a result: one JSON object on stdout with --json, else the human text. */
export function printResult(json: boolean, value: unknown, text: () => string): void {
  if (json) process.stdout.write(JSON.stringify(value) + '\n');
  else process.stdout.write(text() + '\n');
}
