/**
 * `tracoco chaos`: the same small cluster run twice on loopback — once without faults, once under
 * a seeded schedule of them — and what the faults cost: recoveries, iterations replayed, wall
 * time, and end-of-run checks (the run state, the iteration counter, every stored checkpoint
 * loads, the final weights equal the fault-free run's).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decodeSafetensors, readCheckpoint } from '../../shared/checkpoint/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { writePhantomDataset } from '../../shared/data/phantom-dataset.js';
import type { Logger } from '../../shared/log.js';
import type { Role } from '../../shared/protocol/index.js';
import { chaosSchedule, FAULT_KINDS, type Fault, type FaultKind } from './schedule.js';
import { LoopbackCluster, metricValue } from './loopback-cluster.js';
import { processId } from '../cluster/tracoco-process.js';

export interface ChaosOptions {
  cli: string;
  workers: number;
  faults: number;
  seed: number;
  maxIterations: number;
  heartbeatTimeoutMs: number;
  /** Bound on each run (and on each wait inside it). */
  timeoutS: number;
  backend?: string;
  kinds?: readonly FaultKind[];
  /**
   * max |Δw| allowed between the final weights of the two runs when a placement had fewer pairs
   * than the fault-free run (else they must be bitwise equal).
   */
  tolerance: number;
  logger: Logger;
  /** Directory for every process's output (`<run>-<process>.log`); none when absent. */
  logs?: string;
}

export interface InjectedFault extends Fault {
  /** Iteration the run had completed when the fault hit. */
  iteration: number;
  /** The worker it hit, for worker faults. */
  worker?: string;
  /** Iterations rolled back: completed ones whose work was lost and replayed. */
  lost: number;
  /** Milliseconds from the fault until the run completed an iteration beyond `iteration`. */
  recoveryMs: number;
}

export interface ChaosReport {
  ok: boolean;
  checks: { state_iteration: boolean; iterations_total: boolean; checkpoints_load: boolean; weights_match: boolean; exit_code: boolean };
  config: { workers: number; faults: number; seed: number; max_iterations: number; heartbeat_timeout_ms: number; tolerance: number };
  injected: Record<FaultKind, number>;
  faults: InjectedFault[];
  recoveries: number;
  /** Steps the coordinators logged (every step when max_iterations ≤ 50): max_iterations + replayed. */
  iterations_executed: number;
  /** Completed iterations rolled back by the faults, each executed again. */
  iterations_replayed: number;
  iterations_total: number | null;
  checkpoints_checked: number;
  /** Pairs of each placement of the chaos run (a recovery with too few live workers places fewer). */
  pairs_per_epoch: number[];
  max_weight_difference: number;
  bitwise_equal: boolean;
  wall_s: { fault_free: number; chaos: number; ratio: number };
  errors: string[];
}

/**
 * The run's settings: a tiny VNet on small phantoms, cross pairing so the workers exchange overlap
 * views, and float32 exchange so a replayed iteration computes exactly what the first try did.
 */
export const CHAOS_SETS = [
  'train.pairing=cross', 'train.kl=class', 'train.exchange_dtype=float32', 'data.labeled=2', 'data.patch=[16,16,16]',
  'model.filters=4', 'model.normalization=instancenorm', 'train.rampup_length=1', 'eval.split=test', 'eval.patch=[16,16,16]',
  'eval.stride_xy=8', 'eval.stride_z=8', 'eval.batch=4', 'checkpoint.every=2',
];

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const dir = mkdtempSync(join(tmpdir(), 'tracoco-chaos-'));
  try {
    const { root } = await writePhantomDataset({ out: join(dir, 'data'), cases: 8, testCases: 2, shape: [24, 24, 20], seed: o.seed });
    const schedule = chaosSchedule({ seed: o.seed, faults: o.faults, maxIterations: o.maxIterations, heartbeatTimeoutMs: o.heartbeatTimeoutMs, kinds: o.kinds });
    o.logger.info('chaos.schedule', { faults: schedule.map((f) => `${f.kind}@${f.atIteration}`) });
    const reference = await clusterRun(o, root, join(dir, 'fault-free'), []);
    o.logger.info('chaos.fault_free_done', { wall_s: reference.wallS });
    const chaos = await clusterRun(o, root, join(dir, 'chaos'), schedule);
    return report(o, reference, chaos);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface RunOutcome {
  out: string;
  wallS: number;
  code: number | null;
  metrics: string | null;
  resumedFrom: number;
  stepsExecuted: number;
  recoveries: number;
  /** Pairs of each placement (epoch), in order. */
  pairs: number[];
  injected: InjectedFault[];
  checkpoints: { checked: number; errors: string[] };
  error: string | null;
}

async function clusterRun(o: ChaosOptions, dataRoot: string, out: string, schedule: Fault[]): Promise<RunOutcome> {
  const timeoutMs = o.timeoutS * 1000;
  const cluster = new LoopbackCluster({ cli: o.cli, workers: o.workers, config: 'phantom', sets: CHAOS_SETS, dataRoot, maxIterations: o.maxIterations, out, heartbeatTimeoutMs: o.heartbeatTimeoutMs, backend: o.backend });
  const t0 = Date.now();
  const injected: InjectedFault[] = [];
  let error: string | null = null;
  let finished: { code: number | null; metrics: string | null } = { code: null, metrics: null };
  try {
    await cluster.start();
    for (const fault of schedule) {
      await cluster.waitForIteration(fault.atIteration, timeoutMs);
      if (cluster.coordinator.child.exitCode !== null) break;
      injected.push(await inject(cluster, fault, timeoutMs, o.logger));
    }
    finished = await cluster.finish(Math.max(1000, timeoutMs - (Date.now() - t0)));
  } catch (err) {
    error = (err as Error).message;
  }
  const wallS = (Date.now() - t0) / 1000;
  const events = cluster.coordinators.flatMap((c) => c.events());
  const resume = cluster.coordinator.events().find((e) => e.event === 'run.resume');
  const checkpoints = error ? { checked: 0, errors: [] } : await checkStoredCheckpoints(cluster, out);
  await cluster.stop();
  if (o.logs) cluster.writeLogs(o.logs, basename(out));
  return {
    out,
    wallS,
    code: finished.code,
    metrics: finished.metrics,
    resumedFrom: (resume?.iteration as number | undefined) ?? 0,
    stepsExecuted: cluster.stepsExecuted(),
    recoveries: events.filter((e) => e.event === 'run.recover').length,
    pairs: events.filter((e) => e.event === 'run.placed').map((e) => e.pairs as number),
    injected,
    checkpoints,
    error,
  };
}

/** Injects one fault, then waits for the run to complete an iteration past the one it hit. */
async function inject(cluster: LoopbackCluster, fault: Fault, timeoutMs: number, logger: Logger): Promise<InjectedFault> {
  const iteration = cluster.iteration();
  const coordinatorsBefore = cluster.coordinators.length;
  const recoversBefore = recoverEvents(cluster).length;
  const t = Date.now();
  let worker: string | undefined;
  logger.info('chaos.inject', { kind: fault.kind, iteration });
  switch (fault.kind) {
    case 'kill-worker':
      worker = await cluster.killWorker(fault.target);
      break;
    case 'kill-coordinator':
      await cluster.killCoordinator();
      break;
    case 'restart-nats':
      await cluster.nats.restart({ downMs: fault.downMs });
      break;
    case 'pause-worker':
      worker = await cluster.pauseWorker(fault.target, fault.pauseMs);
      break;
    case 'late-join':
      worker = processId(cluster.startWorker());
      break;
  }
  await cluster.waitForIteration(iteration + 1, timeoutMs);
  const recoveryMs = Date.now() - t;
  // Work lost: back to the checkpoint a recovery rolled back to, or the one a new coordinator resumed from.
  const rollback = recoverEvents(cluster).slice(recoversBefore).map((e) => e.rollback_to as number);
  const resumed = cluster.coordinators.slice(coordinatorsBefore).flatMap((c) => c.events().filter((e) => e.event === 'run.resume').map((e) => e.iteration as number));
  const restartedAt = Math.min(iteration, ...rollback, ...resumed);
  return { ...fault, iteration, worker, lost: iteration - restartedAt, recoveryMs };
}

function recoverEvents(cluster: LoopbackCluster): Record<string, unknown>[] {
  return cluster.coordinators.flatMap((c) => c.events().filter((e) => e.event === 'run.recover'));
}

/** Every checkpoint in the object store and the run directory loads, checksums verified. */
async function checkStoredCheckpoints(cluster: LoopbackCluster, out: string): Promise<{ checked: number; errors: string[] }> {
  const errors: string[] = [];
  let checked = 0;
  const { connectNatsTransport } = await import('../../transport/nats.js');
  const { Replica } = await import('../../worker/replica.js');
  const { silentLogger } = await import('../../shared/log.js');
  const transport = await connectNatsTransport({ connection: { servers: cluster.nats.url }, prefix: 'tracoco', logger: silentLogger, name: 'tracoco-chaos-check' });
  try {
    const config = loadConfig({ configArg: 'phantom', flags: { data: { root: cluster.o.dataRoot } }, set: CHAOS_SETS });
    const names = await transport.objects.list();
    for (const weights of names.filter((n) => /\/model[12]\.safetensors$/.test(n))) {
      const role = Number(weights.at(-'.safetensors'.length - 1)) as Role;
      try {
        (await Replica.fromStore(config, role, transport.objects, { weights, optimizer: weights.replace('/model', '/optimizer') })).dispose();
        checked++;
      } catch (err) {
        errors.push(`${weights}: ${(err as Error).message}`);
      }
    }
  } finally {
    await transport.close();
  }
  for (const f of ['model1.safetensors', 'model2.safetensors', 'best.safetensors'].map((f) => join(out, f))) {
    try {
      (await readCheckpoint(f)).model.dispose();
      checked++;
    } catch (err) {
      errors.push(`${f}: ${(err as Error).message}`);
    }
  }
  return { checked, errors };
}

function report(o: ChaosOptions, reference: RunOutcome, chaos: RunOutcome): ChaosReport {
  const errors = [reference.error, chaos.error].filter((e): e is string => e !== null);
  errors.push(...reference.checkpoints.errors, ...chaos.checkpoints.errors);
  const state = readState(chaos.out);
  const counted = chaos.metrics ? metricValue(chaos.metrics, 'tracoco_iterations_total') : null;
  const diff = weightDifference(reference.out, chaos.out, errors);
  // Pairs sum their gradients in the all-reduce: with fewer pairs for a while (too few live
  // workers at a placement) the same gradients are summed in another order, so only rounding-level
  // agreement is expected; with the fault-free run's pairs throughout, bitwise equality.
  const samePairs = chaos.pairs.every((p) => p === reference.pairs[0]);
  const checks = {
    state_iteration: state?.iteration === o.maxIterations && state.finished === true,
    // A coordinator counts the iterations it completed past the checkpoint it resumed from.
    iterations_total: counted !== null && counted + chaos.resumedFrom === o.maxIterations,
    checkpoints_load: chaos.checkpoints.errors.length === 0 && chaos.checkpoints.checked > 0,
    weights_match: samePairs ? diff === 0 : diff <= o.tolerance,
    exit_code: chaos.code === 0 && reference.code === 0,
  };
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, chaos.injected.filter((f) => f.kind === k).length])) as Record<FaultKind, number>;
  return {
    ok: Object.values(checks).every(Boolean) && errors.length === 0,
    checks,
    config: { workers: o.workers, faults: o.faults, seed: o.seed, max_iterations: o.maxIterations, heartbeat_timeout_ms: o.heartbeatTimeoutMs, tolerance: o.tolerance },
    injected,
    faults: chaos.injected,
    recoveries: chaos.recoveries,
    iterations_executed: chaos.stepsExecuted,
    iterations_replayed: chaos.injected.reduce((n, f) => n + f.lost, 0),
    iterations_total: counted === null ? null : counted + chaos.resumedFrom,
    checkpoints_checked: chaos.checkpoints.checked,
    pairs_per_epoch: chaos.pairs,
    max_weight_difference: diff,
    bitwise_equal: diff === 0,
    wall_s: { fault_free: round(reference.wallS), chaos: round(chaos.wallS), ratio: round(chaos.wallS / reference.wallS) },
    errors,
  };
}

function readState(out: string): { iteration: number; finished: boolean } | null {
  const path = join(out, 'state.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { iteration: number; finished: boolean }) : null;
}

/** max |w_chaos − w_reference| over both models' float32 tensors (Infinity when a file is missing). */
function weightDifference(referenceOut: string, chaosOut: string, errors: string[]): number {
  let worst = 0;
  for (const f of ['model1.safetensors', 'model2.safetensors']) {
    try {
      const [a, b] = [referenceOut, chaosOut].map((d) => decodeSafetensors(new Uint8Array(readFileSync(join(d, f))), join(d, f)).tensors);
      for (const [key, ta] of a!) {
        const tb = b!.get(key);
        if (!tb || ta.dtype !== 'float32') continue;
        const [x, y] = [ta.data as Float32Array, tb.data as Float32Array];
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      }
    } catch (err) {
      errors.push(`${f}: ${(err as Error).message}`);
      return Infinity;
    }
  }
  return worst;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
