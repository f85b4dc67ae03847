import type { Command } from 'commander';

/** `tracoco coordinator` (GUIDE §3). */
export function registerCoordinator(program: Command): void {
  program
    .command('coordinator')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco coordinator is not implemented yet');
    });
}
