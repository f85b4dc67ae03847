import type { Command } from 'commander';

/** `tracoco eval` (GUIDE §3). */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco eval is not implemented yet');
    });
}
