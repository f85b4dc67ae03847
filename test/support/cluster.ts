/** Cluster processes for integration tests: the built CLI's `worker` and `coordinator` (src/cli/cluster). */
import { startTracoco, workerArgs, type CliProcess } from '../../src/cli/cluster/tracoco-process.js';
import { cliPath } from './env.js';

export { stepIterations, waitUntil, type CliProcess } from '../../src/cli/cluster/tracoco-process.js';

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  return startTracoco(cliPath, args, env);
}

export function startWorker(url: string, id: string, extra: string[] = []): CliProcess {
  return startCli(workerArgs(url, id, extra));
}
