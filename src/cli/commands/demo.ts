import type { Command } from 'commander';

/** `tracoco demo` (GUIDE §3). */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco demo is not implemented yet');
    });
}
