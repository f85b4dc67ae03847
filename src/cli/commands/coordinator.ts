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

export interface CoordinatorCommandOptions {
  config: import('../../shared/config/index.js').TracocoConfig;
  nats: string;
  out: string;
  workers: number;
  metricsPort?: number;
  json?: boolean;
  backend: string;
}

export async function runCoordinatorCommand(_o: CoordinatorCommandOptions): Promise<void> {
  throw new Error('cluster mode is not wired yet');
}
