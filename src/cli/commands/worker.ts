import type { Command } from 'commander';

/** `tracoco worker` (GUIDE §3). */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco worker is not implemented yet');
    });
}
