import type { Command } from 'commander';

/** `tracoco convert` (GUIDE §3). */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco convert is not implemented yet');
    });
}
