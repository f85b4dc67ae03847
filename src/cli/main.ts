/**
 * The `tracoco` command. Each subcommand lives in `commands/<name>.ts` and registers itself;
 * heavy modules (tfjs, NATS) are imported inside the actions so `--help` and small commands start fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { TracocoError, errorMessage } from '../shared/errors.js';
import { commandModules } from './commands/index.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('tracoco')
    .description('Semi-supervised 3D segmentation with Translation Consistent Co-training (TraCoCo)')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commandModules) {
    register(program);
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (it names the flag); help/version exit 0.
      return err.exitCode;
    }
    const msg = err instanceof TracocoError ? err.message : errorMessage(err);
    process.stderr.write(`tracoco: ${msg}\n`);
    if (!(err instanceof TracocoError) && process.env.TRACOCO_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return 1;
  }
}
