/**
 * A restricted unpickler for the `data.pkl` of a `torch.save(model.state_dict())` checkpoint.
 *
 * A pickle is a program: unpickling one with Python runs whatever callables it names, which is why
 * loading untrusted `.bin` files is dangerous. This reader executes only the data opcodes and lets
 * the program call exactly what a state dict needs — `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2` (and `_rebuild_parameter`), with `torch.*Storage` classes in
 * the persistent ids of the storages. Any other global (a model class, `os.system`, a numpy array…)
 * is refused with E_MODEL before anything else happens, so nothing of the file is ever "run".
 */

import { SpladexError } from '../../errors.js';
import type { CheckpointDtype } from './tensors.js';

/** A storage named by a persistent id: `data/<key>` in the zip, `numel` elements of `dtype`. */
export interface StorageRef {
  readonly kind: 'storage';
  dtype: CheckpointDtype;
  key: string;
  numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage. */
export interface TensorRef {
  readonly kind: 'tensor';
  storage: StorageRef;
  /** In elements. */
  offset: number;
  shape: number[];
  stride: number[];
}

interface GlobalRef {
  readonly kind: 'global';
  module: string;
  name: string;
}

/** What `collections.OrderedDict()` and `{}` build. */
class PickleDict {
  readonly kind = 'dict';
  readonly map = new Map<unknown, unknown>();
}

const STORAGE_DTYPES: Readonly<Record<string, CheckpointDtype>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const ALLOWED_GLOBALS = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`)]);

function notStateDict(file: string, what: string): SpladexError {
  return new SpladexError('E_MODEL', `not a plain state dict (${what}); spladex reads only torch.save(model.state_dict()) files: convert it to safetensors (safetensors.torch.save_file) or save_pretrained(safe_serialization=True)`, {
    file,
  });
}

/**
 * Runs the pickle program in `bytes` and returns the state dict it builds: parameter name → tensor.
 * `file` names the checkpoint in errors.
 */
export function unpickleStateDict(bytes: Uint8Array, file: string): Map<string, TensorRef> {
  const result = new Unpickler(bytes, file).run();
  if (!(result instanceof PickleDict)) throw notStateDict(file, 'the pickle does not hold a dictionary');
  const tensors = new Map<string, TensorRef>();
  for (const [key, value] of result.map) {
    if (typeof key !== 'string') throw notStateDict(file, `a key is ${typeof key}, not a parameter name`);
    if (!isTensor(value)) throw notStateDict(file, `entry ${key} is not a tensor (a nested checkpoint such as {"model": …, "optimizer": …}?)`);
    tensors.set(key, value);
  }
  return tensors;
}

function isTensor(value: unknown): value is TensorRef {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tensor';
}

class Unpickler {
  private readonly view: DataView;
  private p = 0;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): unknown {
    for (;;) {
      const op = this.u8();
      switch (op) {
        case 0x80: // PROTO
          this.u8();
          break;
        case 0x95: // FRAME: a length hint, the data follows inline
          this.skip(8);
          break;
        case 0x2e: // STOP
          return this.pop();
        case 0x28: // MARK
          this.marks.push(this.stack);
          this.stack = [];
          break;
        case 0x7d: // EMPTY_DICT
          this.stack.push(new PickleDict());
          break;
        case 0x5d: // EMPTY_LIST
        case 0x29: // EMPTY_TUPLE
          this.stack.push([]);
          break;
        case 0x74: {
          // TUPLE. Not `this.stack.push(this.popMark())`: that would push onto the stack popMark replaces.
          const items = this.popMark();
          this.stack.push(items);
          break;
        }
        case 0x85: // TUPLE1
          this.stack.push([this.pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b = this.pop();
          this.stack.push([this.pop(), b]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.stack.push([this.pop(), b, c]);
          break;
        }
        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.u32(), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top());
          break;
        case 0x68: // BINGET
          this.stack.push(this.get(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.stack.push(this.get(this.u32()));
          break;
        case 0x63: {
          // GLOBAL "module\nname\n"
          const module = this.line();
          this.stack.push(this.global(module, this.line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw this.fail('STACK_GLOBAL without names');
          this.stack.push(this.global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.stack.push(this.call(callable, args));
          break;
        }
        case 0x62: {
          // BUILD: only an OrderedDict's attribute state (the `_metadata` of a state dict), ignored.
          this.pop();
          if (!(this.top() instanceof PickleDict)) throw this.fail('BUILD on an object that is not a dictionary');
          break;
        }
        case 0x73: {
          // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.dict(this.top()).set(key, value);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          const dict = this.dict(this.top());
          for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
          break;
        }
        case 0x61: {
          // APPEND
          const value = this.pop();
          this.list(this.top()).push(value);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.list(this.top()).push(...items);
          break;
        }
        case 0x4a: // BININT
          this.stack.push(this.view.getInt32(this.take(4), true));
          break;
        case 0x4b: // BININT1
          this.stack.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.stack.push(this.view.getUint16(this.take(2), true));
          break;
        case 0x8a: // LONG1
          this.stack.push(this.long(this.u8()));
          break;
        case 0x47: // BINFLOAT (big-endian)
          this.stack.push(this.view.getFloat64(this.take(8), false));
          break;
        case 0x58: // BINUNICODE
          this.stack.push(this.text(this.u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(this.text(this.u8()));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(this.text(Number(this.view.getBigUint64(this.take(8), true))));
          break;
        case 0x55: // SHORT_BINSTRING
          this.stack.push(this.text(this.u8()));
          break;
        case 0x54: // BINSTRING
          this.stack.push(this.text(this.u32()));
          break;
        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x51: // BINPERSID
          this.stack.push(this.persistent(this.pop()));
          break;
        default:
          throw this.fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${this.p - 1}`);
      }
    }
  }

  private global(module: string, name: string): GlobalRef {
    const qualified = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(qualified)) throw this.fail(`it refers to ${qualified}, which a state dict never does`);
    return { kind: 'global', module, name };
  }

  private call(callable: unknown, args: unknown): unknown {
    const g = callable as GlobalRef;
    if (typeof g !== 'object' || g === null || g.kind !== 'global' || !Array.isArray(args)) throw this.fail('REDUCE of something that is not an allowed function');
    const qualified = `${g.module}.${g.name}`;
    if (qualified === 'collections.OrderedDict') {
      if (args.length !== 0) throw this.fail('OrderedDict built from arguments');
      return new PickleDict();
    }
    if (qualified === 'torch._utils._rebuild_parameter') {
      if (!isTensor(args[0])) throw this.fail('a parameter without a tensor');
      return args[0];
    }
    if (qualified === 'torch._utils._rebuild_tensor_v2') {
      const [storage, offset, shape, stride] = args as [unknown, unknown, unknown, unknown];
      const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0);
      if (typeof storage !== 'object' || storage === null || (storage as StorageRef).kind !== 'storage' || !Number.isInteger(offset) || !ints(shape) || !ints(stride) || shape.length !== stride.length) {
        throw this.fail('a malformed _rebuild_tensor_v2 call');
      }
      return { kind: 'tensor', storage: storage as StorageRef, offset: offset as number, shape, stride } satisfies TensorRef;
    }
    throw this.fail(`a call of ${qualified}`);
  }

  /** ('storage', torch.FloatStorage, key, location, numel) → a storage reference. */
  private persistent(pid: unknown): StorageRef {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw this.fail('a persistent id that is not a tensor storage');
    const type = pid[1] as GlobalRef;
    const dtype = typeof type === 'object' && type !== null && type.kind === 'global' && type.module === 'torch' ? STORAGE_DTYPES[type.name] : undefined;
    if (dtype === undefined || typeof pid[2] !== 'string' || !Number.isInteger(pid[4])) throw this.fail('a malformed storage id');
    return { kind: 'storage', dtype, key: pid[2], numel: pid[4] as number };
  }

  private get(index: number): unknown {
    if (!this.memo.has(index)) throw this.fail(`memo entry ${index} read before it was written`);
    return this.memo.get(index);
  }

  private dict(value: unknown): Map<unknown, unknown> {
    if (!(value instanceof PickleDict)) throw this.fail('SETITEM on something that is not a dictionary');
    return value.map;
  }

  private list(value: unknown): unknown[] {
    if (!Array.isArray(value)) throw this.fail('APPEND on something that is not a list');
    return value;
  }

  private long(length: number): number {
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[this.p + i]);
    if (length > 0 && this.bytes[this.p + length - 1] & 0x80) value -= 1n << BigInt(8 * length);
    this.skip(length);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw this.fail('an integer too large for a tensor size');
    return Number(value);
  }

  private text(length: number): string {
    const start = this.take(length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, length).toString('utf8');
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.p);
    if (end < 0) throw this.fail('an unterminated GLOBAL');
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.p, end - this.p).toString('utf8');
    this.p = end + 1;
    return s;
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  private u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  private take(n: number): number {
    const at = this.p;
    if (at + n > this.bytes.length) throw this.fail('the pickle ends early');
    this.p += n;
    return at;
  }

  private skip(n: number): void {
    this.take(n);
  }

  private top(): unknown {
    if (this.stack.length === 0) throw this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private pop(): unknown {
    if (this.stack.length === 0) throw this.fail('stack underflow');
    return this.stack.pop();
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const previous = this.marks.pop();
    if (previous === undefined) throw this.fail('no MARK');
    this.stack = previous;
    return items;
  }

  private fail(what: string): SpladexError {
    return notStateDict(this.file, what);
  }
}
