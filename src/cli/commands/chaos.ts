import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { TracocoError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { commaList } from '../../shared/names.js';
import { nonNegativeInt, positiveInt, positiveNumber, printResult } from '../options.js';
import { FAULT_KINDS, type FaultKind } from '../chaos/schedule.js';
import type { ChaosReport } from '../chaos/chaos.js';

interface ChaosFlags {
  workers: number;
  faults: number;
  seed: number;
  maxIterations: number;
  kinds: string;
  heartbeatTimeoutMs: number;
  timeoutS: number;
  tolerance: number;
  backend?: string;
  logs?: string;
  json?: boolean;
}

/** `tracoco chaos`: a loopback cluster run under a seeded fault schedule, against a fault-free one. */
export function registerChaos(program: Command): void {
  program
    .command('chaos')
    .description('run a small cluster on loopback (nats-server, coordinator, workers) twice — without faults and under a seeded fault schedule — and check the run survived exactly')
    .option('--workers <n>', 'worker processes (2 per pair)', positiveInt, 4)
    .option('--faults <k>', 'faults to inject', nonNegativeInt, 5)
    .option('--seed <s>', 'seed of the fault schedule and the phantom data', nonNegativeInt, 0)
    .option('--max-iterations <n>', 'iterations of each run', positiveInt, 16)
    .option('--kinds <list>', `fault kinds to draw from, comma-separated (${FAULT_KINDS.join(', ')})`, FAULT_KINDS.join(','))
    .option('--heartbeat-timeout-ms <ms>', 'the coordinator declares a silent worker lost after this long', positiveInt, 2000)
    .option('--timeout-s <s>', 'bound on each of the two runs', positiveInt, 900)
    .option('--tolerance <x>', 'max |Δw| allowed between the final weights of the two runs when a recovery placed fewer pairs (else bitwise equality)', positiveNumber, 1e-4)
    .option('--backend <name>', 'workers\' backend: tensorflow | native | cpu (default: the best available)')
    .option('--logs <dir>', 'write every process\'s output there (a failing schedule can then be read)')
    .option('--json', 'print the report as one JSON object')
    .action(async (flags: ChaosFlags) => {
      const kinds = parseKinds(flags.kinds);
      const { runChaos } = await import('../chaos/chaos.js');
      const report = await runChaos({
        cli: fileURLToPath(new URL('../../../../bin/tracoco.js', import.meta.url)),
        workers: flags.workers,
        faults: flags.faults,
        seed: flags.seed,
        maxIterations: flags.maxIterations,
        heartbeatTimeoutMs: flags.heartbeatTimeoutMs,
        timeoutS: flags.timeoutS,
        tolerance: flags.tolerance,
        backend: flags.backend,
        kinds,
        logs: flags.logs,
        logger: createLogger({ component: 'chaos' }),
      });
      printResult(flags.json === true, report, () => chaosTable(report));
      if (!report.ok) process.exitCode = 1;
    });
}

function parseKinds(list: string): FaultKind[] {
  const kinds = commaList(list);
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new TracocoError(`unknown fault kind '${k}' (expected ${FAULT_KINDS.join(', ')})`, { flag: '--kinds' });
  }
  return kinds as FaultKind[];
}

/** The README's "What survives failures" table: fault, how often, what was lost, recovery time. */
export function chaosTable(r: ChaosReport): string {
  const rows = FAULT_KINDS.filter((k) => r.injected[k] > 0).map((kind) => {
    const hits = r.faults.filter((f) => f.kind === kind);
    const lost = hits.map((f) => f.lost);
    const recovery = hits.map((f) => f.recoveryMs / 1000);
    return `| ${kind} | ${hits.length} | ${lost.join(', ')} | ${recovery.map((s) => s.toFixed(1)).join(', ')} |`;
  });
  const checks = Object.entries(r.checks).map(([k, v]) => `${k} ${v ? 'ok' : 'FAILED'}`).join(', ');
  return [
    '| fault | injected | iterations lost (each) | recovery s (each) |',
    '|---|---|---|---|',
    ...rows,
    '',
    `${r.recoveries} recoveries; ${r.iterations_executed} iterations executed for ${r.config.max_iterations} (${r.iterations_replayed} replayed); wall ${r.wall_s.chaos} s vs ${r.wall_s.fault_free} s fault-free (×${r.wall_s.ratio})`,
    `final weights vs fault-free: max |Δw| = ${r.max_weight_difference}${r.bitwise_equal ? ' (bitwise equal)' : ''}; ${r.checkpoints_checked} checkpoints loaded`,
    `checks: ${checks} → ${r.ok ? 'OK' : 'FAILED'}`,
    ...r.errors.map((e) => `error: ${e}`),
  ].join('\n');
}
