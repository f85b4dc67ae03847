import type { Command } from 'commander';

/** `tracoco metrics` (GUIDE §3). */
export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco metrics is not implemented yet');
    });
}
