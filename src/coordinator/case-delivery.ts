/**
 * Delivery of volumes to workers: each worker receives each case once per placement, inline in a
 * `cases` message, or — for cluster runs — by name from the Object Store, where every case is
 * uploaded once per run so that replacements and restarted coordinators do not resend it.
 */
import { messages, subjects, type CasesMessage, type Transport } from '../shared/protocol/index.js';
import { encodeMessage } from '../shared/protocol/codec.js';
import type { TrainingData } from './training-data.js';

/** Object-store name of a case (stored as a one-case `cases` message). */
export function caseObjectName(runId: string, id: string): string {
  return `${runId}/cases/${id}`;
}

export class CaseDelivery {
  private stored: Set<string> | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly data: TrainingData,
    /** Send case names through the Object Store instead of the volumes themselves. */
    private readonly useStore: boolean,
  ) {}

  /**
   * The `cases` message carrying the cases of `ids` not in `held` (null when it holds them all).
   * The caller sends it and then adds the ids to `held`.
   */
  async message(runId: string, held: ReadonlySet<string>, ids: string[], epoch: number): Promise<{ message: CasesMessage; ids: string[] } | null> {
    const missing = ids.filter((id) => !held.has(id));
    if (missing.length === 0) return null;
    const stored = this.useStore ? await this.store(runId, missing) : [];
    const cases = this.useStore ? [] : missing.map((id) => this.data.cases.get(id)!);
    return { message: messages.cases({ runId, epoch, cases, stored }), ids: missing };
  }

  /** Sends `worker` the cases of `ids` it does not hold yet, and records them as held. */
  async sendTo(worker: { id: string; sent: Set<string> }, runId: string, ids: string[], epoch: number): Promise<void> {
    const delivery = await this.message(runId, worker.sent, ids, epoch);
    if (!delivery) return;
    await this.transport.publish(subjects(this.transport.prefix).worker(worker.id), delivery.message);
    for (const id of delivery.ids) worker.sent.add(id);
  }

  /** Object names of the cases, uploading the ones the store does not hold yet. */
  private async store(runId: string, ids: string[]): Promise<string[]> {
    this.stored ??= new Set(await this.transport.objects.list());
    const names: string[] = [];
    for (const id of ids) {
      const name = caseObjectName(runId, id);
      if (!this.stored.has(name)) {
        const c = this.data.cases.get(id)!;
        await this.transport.objects.put(name, encodeMessage(messages.cases({ runId, epoch: 0, cases: [c], stored: [] })));
        this.stored.add(name);
      }
      names.push(name);
    }
    return names;
  }
}
