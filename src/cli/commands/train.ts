import type { Command } from 'commander';

/** `tracoco train` (GUIDE §3). */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco train is not implemented yet');
    });
}
