/**
 * Frames larger than the server's max_payload travel as chunks (GUIDE §6). A chunk is a frame
 * that starts with 0xC1, a byte MessagePack never uses, so a receiver tells chunks from whole
 * frames by their first byte. The fixed header, big-endian:
 *
 *   0      magic 0xC1
 *   1      chunk format (1)
 *   2..9   sender id (random per transport)
 *   10..13 message sequence number of that sender
 *   14..17 chunk index      18..21 chunk count
 *   22..25 message bytes    26..29 chunk size (every chunk but the last has exactly this size)
 *
 * The `Reassembler` joins chunks per (sender, sequence) in any arrival order, with bounded memory.
 */
import { ProtocolRejection } from './codec.js';

export const CHUNK_MAGIC = 0xc1;
export const CHUNK_FORMAT = 1;
export const SENDER_ID_BYTES = 8;
export const CHUNK_HEADER_BYTES = 30;
const MAX_U32 = 0xffffffff;

export interface Chunk {
  /** `<sender hex>/<sequence>`: unique per message while it is being reassembled. */
  id: string;
  index: number;
  count: number;
  /** Bytes of the whole message. */
  total: number;
  chunkSize: number;
  bytes: Uint8Array;
}

export function isChunkFrame(frame: Uint8Array): boolean {
  return frame.byteLength > 0 && frame[0] === CHUNK_MAGIC;
}

/**
 * The frames that carry `frame` within `maxFrameBytes` each: the frame itself when it fits,
 * else chunk frames whose payloads are views of `frame` copied behind a header.
 */
export function splitFrame(frame: Uint8Array, maxFrameBytes: number, sender: Uint8Array, sequence: number): Uint8Array[] {
  if (frame.byteLength <= maxFrameBytes) return [frame];
  if (sender.byteLength !== SENDER_ID_BYTES) throw new RangeError(`sender id must be ${SENDER_ID_BYTES} bytes`);
  const chunkSize = maxFrameBytes - CHUNK_HEADER_BYTES;
  if (chunkSize < 1) throw new RangeError(`max frame size ${maxFrameBytes} leaves no room for a chunk header`);
  const total = frame.byteLength;
  if (total > MAX_U32) throw new RangeError(`a message of ${total} bytes is too large to chunk`);
  const count = Math.ceil(total / chunkSize);
  const frames: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const body = frame.subarray(index * chunkSize, Math.min(total, (index + 1) * chunkSize));
    const out = new Uint8Array(CHUNK_HEADER_BYTES + body.byteLength);
    const view = new DataView(out.buffer);
    out[0] = CHUNK_MAGIC;
    out[1] = CHUNK_FORMAT;
    out.set(sender, 2);
    view.setUint32(10, sequence >>> 0);
    view.setUint32(14, index);
    view.setUint32(18, count);
    view.setUint32(22, total);
    view.setUint32(26, chunkSize);
    out.set(body, CHUNK_HEADER_BYTES);
    frames.push(out);
  }
  return frames;
}

/** Reads a chunk frame's header; the payload is a view of `frame`. `subject` names it in rejections. */
export function parseChunkFrame(frame: Uint8Array, subject?: string): Chunk {
  const where = subject ? { message: subject } : {};
  if (frame.byteLength < CHUNK_HEADER_BYTES || frame[0] !== CHUNK_MAGIC) {
    throw new ProtocolRejection('chunk', `chunk frame of ${frame.byteLength} bytes has no valid header`, where);
  }
  if (frame[1] !== CHUNK_FORMAT) throw new ProtocolRejection('chunk', `chunk format ${frame[1]} is not supported (expected ${CHUNK_FORMAT})`, where);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const sender = Buffer.from(frame.buffer, frame.byteOffset + 2, SENDER_ID_BYTES).toString('hex');
  return {
    id: `${sender}/${view.getUint32(10)}`,
    index: view.getUint32(14),
    count: view.getUint32(18),
    total: view.getUint32(22),
    chunkSize: view.getUint32(26),
    bytes: frame.subarray(CHUNK_HEADER_BYTES),
  };
}

export interface ReassemblyLimits {
  /** Largest message accepted (its announced size). */
  maxMessageBytes: number;
  /** Sum of the announced sizes of incomplete messages. */
  maxPendingBytes: number;
  maxPendingMessages: number;
  /** An incomplete message is dropped this long after its first chunk arrived. */
  timeoutMs: number;
}

interface Pending {
  count: number;
  total: number;
  chunkSize: number;
  buffer: Uint8Array;
  received: Uint8Array;
  receivedCount: number;
  startedAt: number;
  subject?: string;
}

/**
 * How many finished (completed, rejected or expired) ids are remembered, so that their late or
 * duplicate chunks are ignored instead of starting the message again or counting it twice.
 */
const FINISHED_MEMORY = 1024;

export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  private readonly finished = new Set<string>();
  private bytes = 0;

  constructor(
    private readonly limits: ReassemblyLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Adds one chunk; returns the whole message when this chunk completes it, else null.
   * Duplicates are ignored. Throws a ProtocolRejection for a chunk that cannot belong to a valid
   * message or that exceeds the limits; that message is dropped, and its other chunks ignored.
   */
  accept(chunk: Chunk, subject?: string): Uint8Array | null {
    if (this.finished.has(chunk.id)) return null;
    try {
      return this.add(chunk, subject);
    } catch (err) {
      const entry = this.pending.get(chunk.id);
      if (entry) this.drop(chunk.id, entry);
      this.finish(chunk.id);
      throw err;
    }
  }

  private add(chunk: Chunk, subject?: string): Uint8Array | null {
    const where = subject ? { message: subject } : {};
    let entry = this.pending.get(chunk.id);
    if (!entry) {
      checkHeader(chunk, this.limits.maxMessageBytes, where);
      if (this.pending.size >= this.limits.maxPendingMessages) {
        throw new ProtocolRejection('overloaded', `${this.pending.size} chunked messages already pending (limit ${this.limits.maxPendingMessages})`, where);
      }
      if (this.bytes + chunk.total > this.limits.maxPendingBytes) {
        throw new ProtocolRejection('overloaded', `chunked message of ${chunk.total} bytes exceeds the ${this.limits.maxPendingBytes} bytes reserved for reassembly`, where);
      }
      entry = {
        count: chunk.count, total: chunk.total, chunkSize: chunk.chunkSize, buffer: new Uint8Array(chunk.total),
        received: new Uint8Array(chunk.count), receivedCount: 0, startedAt: this.clock(), subject,
      };
      this.pending.set(chunk.id, entry);
      this.bytes += chunk.total;
    } else if (entry.count !== chunk.count || entry.total !== chunk.total || entry.chunkSize !== chunk.chunkSize) {
      throw new ProtocolRejection('chunk', `chunk ${chunk.index} of message ${chunk.id} disagrees with earlier chunks on its size`, where);
    }
    if (chunk.index >= entry.count) {
      throw new ProtocolRejection('chunk', `chunk index ${chunk.index} is out of range (count ${entry.count})`, where);
    }
    const offset = chunk.index * entry.chunkSize;
    const expected = Math.min(entry.chunkSize, entry.total - offset);
    if (chunk.bytes.byteLength !== expected) {
      throw new ProtocolRejection('chunk', `chunk ${chunk.index} of message ${chunk.id} holds ${chunk.bytes.byteLength} bytes, expected ${expected}`, where);
    }
    if (entry.received[chunk.index]) return null;
    entry.buffer.set(chunk.bytes, offset);
    entry.received[chunk.index] = 1;
    entry.receivedCount++;
    if (entry.receivedCount < entry.count) return null;
    this.drop(chunk.id, entry);
    this.finish(chunk.id);
    return entry.buffer;
  }

  /** Drops incomplete messages older than the timeout: one rejection each. */
  expire(): ProtocolRejection[] {
    const now = this.clock();
    const rejections: ProtocolRejection[] = [];
    for (const [id, entry] of this.pending) {
      const age = now - entry.startedAt;
      if (age < this.limits.timeoutMs) continue;
      this.drop(id, entry);
      this.finish(id);
      rejections.push(
        new ProtocolRejection('expired', `chunked message ${id} incomplete after ${age} ms (${entry.receivedCount} of ${entry.count} chunks)`, entry.subject ? { message: entry.subject } : {}),
      );
    }
    return rejections;
  }

  get pendingMessages(): number {
    return this.pending.size;
  }

  /** Bytes reserved for incomplete messages. */
  get pendingBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.pending.clear();
    this.bytes = 0;
  }

  private finish(id: string): void {
    this.finished.add(id);
    if (this.finished.size > FINISHED_MEMORY) this.finished.delete(this.finished.values().next().value!);
  }

  private drop(id: string, entry: Pending): void {
    if (this.pending.delete(id)) this.bytes -= entry.total;
  }
}

function checkHeader(chunk: Chunk, maxMessageBytes: number, where: { message?: string }): void {
  if (chunk.total > maxMessageBytes) {
    throw new ProtocolRejection('oversized', `chunked message of ${chunk.total} bytes exceeds the limit of ${maxMessageBytes}`, where);
  }
  if (chunk.total < 1 || chunk.chunkSize < 1 || chunk.count !== Math.ceil(chunk.total / chunk.chunkSize)) {
    throw new ProtocolRejection('chunk', `inconsistent chunk header: ${chunk.count} chunks of ${chunk.chunkSize} bytes for ${chunk.total} bytes`, where);
  }
}
