/**
 * A small unpickler for what `torch.save` writes for a state_dict (pickle protocols 2–5):
 * dicts, tuples, lists, strings, ints, floats, bools, None, globals resolved by the caller,
 * REDUCE / BUILD, and persistent ids (tensor storages). Anything else is a TracocoError naming
 * the file and the opcode, never arbitrary code execution.
 */
import { TracocoError } from '../errors.js';

/** What the caller plugs in: how globals resolve and how persistent ids load. */
export interface UnpickleHooks {
  /** Returns the value of `module.name` (a function for callables used by REDUCE), or undefined when unknown. */
  findGlobal(module: string, name: string): unknown;
  /** Loads a BINPERSID id (torch: `('storage', type, key, location, numel)`). */
  persistentLoad?(pid: unknown): unknown;
}

const MARK = Symbol('mark');

const OPCODE_NAMES: Record<number, string> = {
  0x80: 'PROTO', 0x95: 'FRAME', 0x2e: 'STOP', 0x7d: 'EMPTY_DICT', 0x5d: 'EMPTY_LIST', 0x29: 'EMPTY_TUPLE',
  0x28: 'MARK', 0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE', 0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2', 0x8a: 'LONG1', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x52: 'REDUCE', 0x62: 'BUILD', 0x51: 'BINPERSID', 0x73: 'SETITEM', 0x75: 'SETITEMS',
  0x61: 'APPEND', 0x65: 'APPENDS', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x4e: 'NONE', 0x47: 'BINFLOAT',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  // Known but unsupported (named in the error): text-protocol and object-construction opcodes.
  0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x69: 'INST', 0x6f: 'OBJ', 0x50: 'PERSID', 0x70: 'PUT', 0x67: 'GET',
  0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x53: 'STRING', 0x55: 'SHORT_BINSTRING', 0x54: 'BINSTRING',
  0x56: 'UNICODE', 0x8b: 'LONG4', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x82: 'EXT1', 0x83: 'EXT2',
  0x84: 'EXT4', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Unpickles `bytes`; `source` names the file in errors. Dicts become Maps, tuples and lists arrays. */
export function unpickle(bytes: Uint8Array, source: string, hooks: UnpickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const fail = (reason: string): never => {
    throw new TracocoError(`pickle: ${reason}`, { file: source });
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated at byte ${pos} (needs ${n} more)`);
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} too large`);
    return Number(v);
  };
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const text = (n: number) => {
    try {
      return decoder.decode(take(n));
    } catch {
      return fail(`invalid UTF-8 string at byte ${pos - n}`);
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated line at byte ${pos}`);
    const s = text(end - pos);
    pos++;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail(`stack underflow at byte ${pos}`) : stack.pop());
  const top = () => (stack.length === 0 ? fail(`stack underflow at byte ${pos}`) : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail(`no MARK on the stack at byte ${pos}`);
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const asMap = (v: unknown): Map<unknown, unknown> => (v instanceof Map ? v : fail(`SETITEM on a non-dict at byte ${pos}`));
  const memoGet = (i: number) => (memo.has(i) ? memo.get(i) : fail(`memo ${i} not defined at byte ${pos}`));
  const resolveGlobal = (module: string, name: string): unknown => {
    const value = hooks.findGlobal(module, name);
    if (value === undefined) fail(`unsupported global ${module}.${name}`);
    return value;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: length only, data follows inline
      case 0x2e: { // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 0x7d: stack.push(new Map()); break;
      case 0x5d: stack.push([]); break;
      case 0x29: stack.push([]); break;
      case 0x28: stack.push(MARK); break;
      case 0x58: stack.push(text(u32())); break;
      case 0x8c: stack.push(text(u8())); break;
      case 0x8d: stack.push(text(u64())); break;
      case 0x42: stack.push(take(u32()).slice()); break;
      case 0x43: stack.push(take(u8()).slice()); break;
      case 0x71: memo.set(u8(), top()); break;
      case 0x72: memo.set(u32(), top()); break;
      case 0x94: memo.set(memo.size, top()); break;
      case 0x68: stack.push(memoGet(u8())); break;
      case 0x6a: stack.push(memoGet(u32())); break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL needs two strings at byte ${at}`);
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x4a: need(4); stack.push(view.getInt32(pos, true)); pos += 4; break;
      case 0x4b: stack.push(u8()); break;
      case 0x4d: stack.push(u16()); break;
      case 0x8a: stack.push(decodeLong(take(u8()))); break;
      case 0x74: stack.push(popMark()); break;
      case 0x85: stack.push([pop()]); break;
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (typeof callable !== 'function') fail(`REDUCE on a value that is not a supported callable at byte ${at}`);
        if (!Array.isArray(args)) fail(`REDUCE arguments are not a tuple at byte ${at}`);
        stack.push((callable as (...a: unknown[]) => unknown)(...(args as unknown[])));
        break;
      }
      case 0x62: { // BUILD: state of a dict subclass (OrderedDict._metadata) carries nothing we need
        pop();
        top();
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail(`persistent id without a loader at byte ${at}`);
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x73: { const value = pop(); const key = pop(); asMap(top()).set(key, value); break; }
      case 0x75: { // SETITEMS
        const items = popMark();
        const dict = asMap(top());
        if (items.length % 2 !== 0) fail(`SETITEMS with an odd number of items at byte ${at}`);
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { const value = pop(); asList(top(), fail).push(value); break; }
      case 0x65: { const items = popMark(); asList(top(), fail).push(...items); break; }
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4e: stack.push(null); break;
      case 0x47: need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break;
      default: {
        const name = OPCODE_NAMES[op] ?? 'unknown';
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} (${name}) at byte ${at}`);
      }
    }
  }
}

function asList(v: unknown, fail: (reason: string) => never): unknown[] {
  return Array.isArray(v) ? v : fail('APPEND on a non-list');
}

/** LONG1 payload: little-endian two's complement; a number when it fits exactly, else a bigint. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
