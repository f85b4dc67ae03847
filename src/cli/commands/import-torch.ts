import type { Command } from 'commander';

/** `tracoco import-torch` (GUIDE §3). */
export function registerImportTorch(program: Command): void {
  program
    .command('import-torch')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('tracoco import-torch is not implemented yet');
    });
}
