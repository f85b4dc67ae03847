import type { Command } from 'commander';

/** `tracoco synth` (GUIDE §3). */
export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco synth is not implemented yet');
    });
}
