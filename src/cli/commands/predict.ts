import type { Command } from 'commander';

/** `tracoco predict` (GUIDE §3). */
export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco predict is not implemented yet');
    });
}
