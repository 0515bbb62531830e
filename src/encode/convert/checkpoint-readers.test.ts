/**
 * The checkpoint readers on files built byte by byte here: safetensors (F32, F16, BF16, damaged
 * headers, truncation) and torch.save zips whose pickles are written opcode by opcode, so the
 * restricted unpickler is tested on exactly what torch emits (memoised shared storages, strided
 * views, HalfStorage) and on what it must refuse (foreign globals, legacy files, nested dicts).
 */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpladexError } from '../../errors.js';
import { toHalfBits } from '../../util/f16.js';
import { encodeSafetensors, openSafetensors } from './safetensors.js';
import { openTorchBin } from './torch-bin.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spladex-readers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<SpladexError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpladexError);
  return error as SpladexError;
}

describe('safetensors', () => {
  it('reads F32, F16 and BF16 tensors as fp32', async () => {
    const values = Float32Array.of(1, -2.5, 0.1, 65504, 3.140625, -0);
    const file = join(dir, 'mixed.safetensors');
    await writeFile(
      file,
      encodeSafetensors([
        { name: 'a.f32', shape: [2, 3], data: values },
        { name: 'b.f16', shape: [6], data: values, dtype: 'F16' },
        { name: 'c.bf16', shape: [3, 2], data: values, dtype: 'BF16' },
      ]),
    );
    const source = await openSafetensors(file);
    try {
      expect([...source.tensors.keys()]).toEqual(['a.f32', 'b.f16', 'c.bf16']);
      expect(source.tensors.get('b.f16')).toEqual({ dtype: 'F16', shape: [6], begin: 24, end: 36 });
      expect((await source.read('a.f32')).data).toEqual(values);
      const half = (await source.read('b.f16')).data;
      // Rounded to half precision once, then widened exactly.
      expect([...half]).toEqual([1, -2.5, 0.0999755859375, 65504, 3.140625, -0]);
      expect(toHalfBits(half[2])).toBe(toHalfBits(0.1));
      const bf = await source.read('c.bf16');
      expect(bf.shape).toEqual([3, 2]);
      // bfloat16 keeps 8 mantissa bits: 0.1 → 0.10009765625, 65504 → 65536, 3.140625 stays.
      expect([...bf.data]).toEqual([1, -2.5, 0.10009765625, 65536, 3.140625, -0]);
    } finally {
      await source.close();
    }
  });

  it('refuses truncated files and damaged headers with E_MODEL', async () => {
    const good = encodeSafetensors([{ name: 'w', shape: [4, 4], data: new Float32Array(16).fill(1) }]);
    const cut = join(dir, 'cut.safetensors');
    await writeFile(cut, good.subarray(0, good.length - 10));
    const truncated = await rejection(openSafetensors(cut));
    expect(truncated.code).toBe('E_MODEL');
    expect(truncated.message).toMatch(/past the end of the file.*truncated or damaged: download it again/);

    const short = join(dir, 'short.safetensors');
    await writeFile(short, good.subarray(0, 5));
    expect((await rejection(openSafetensors(short))).message).toMatch(/shorter than the 8-byte header length/);

    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(1n << 40n, 0);
    await writeFile(join(dir, 'huge.safetensors'), huge);
    expect((await rejection(openSafetensors(join(dir, 'huge.safetensors')))).message).toMatch(/header length 1099511627776/);

    const garbled = Buffer.from(good);
    garbled[8] = 0x41; // '{' → 'A'
    await writeFile(join(dir, 'garbled.safetensors'), garbled);
    expect((await rejection(openSafetensors(join(dir, 'garbled.safetensors')))).message).toMatch(/header is not JSON/);

    const header = JSON.stringify({ w: { dtype: 'F32', shape: [4, 4], data_offsets: [0, 60] } });
    const bad = Buffer.concat([Buffer.alloc(8), Buffer.from(header), Buffer.alloc(64)]);
    bad.writeBigUInt64LE(BigInt(header.length), 0);
    await writeFile(join(dir, 'mismatch.safetensors'), bad);
    expect((await rejection(openSafetensors(join(dir, 'mismatch.safetensors')))).message).toMatch(/60 bytes for shape \[4, 4\] of F32/);

    await truncate(cut, 0);
    expect((await rejection(openSafetensors(cut))).code).toBe('E_MODEL');
  });
});

// ------------------------------------------------------------------------------------------------
// torch.save files, written by hand.
// ------------------------------------------------------------------------------------------------

/** Pickle protocol 2 opcodes, as torch.save emits them. */
class PickleWriter {
  private readonly bytes: number[] = [0x80, 2];
  private memo = 0;
  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b);
  }
  int(n: number): this {
    return n < 256 ? this.op(0x4b, n) : this.op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  }
  tuple(values: number[]): this {
    this.op(0x28);
    for (const v of values) this.int(v);
    return this.op(0x74);
  }
  put(): number {
    this.op(0x71, this.memo);
    return this.memo++;
  }
  get(index: number): this {
    return this.op(0x68, index);
  }
  done(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
}

interface TensorSpec {
  name: string;
  storage: { key: string; type: string; numel: number };
  offset: number;
  shape: number[];
  stride: number[];
}

/** The pickle of an OrderedDict of tensors; a storage named twice is memoised as torch does. */
function stateDictPickle(tensors: TensorSpec[], extra?: (w: PickleWriter) => void): Uint8Array {
  const w = new PickleWriter();
  w.global('collections', 'OrderedDict').op(0x29, 0x52);
  w.put();
  w.op(0x28); // MARK of SETITEMS
  const storages = new Map<string, number>();
  for (const t of tensors) {
    w.str(t.name);
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.op(0x28); // MARK of the argument tuple
    const memo = storages.get(t.storage.key);
    if (memo !== undefined) w.get(memo);
    else {
      w.op(0x28).str('storage').global('torch', t.storage.type).str(t.storage.key).str('cpu').int(t.storage.numel).op(0x74, 0x51);
      storages.set(t.storage.key, w.put());
    }
    w.int(t.offset).tuple(t.shape).tuple(t.stride).op(0x89);
    w.global('collections', 'OrderedDict').op(0x29, 0x52);
    w.op(0x74, 0x52); // TUPLE, REDUCE
  }
  extra?.(w);
  w.op(0x75); // SETITEMS
  // state_dict._metadata, set through BUILD: {'': {'version': 1}}
  w.op(0x7d).str('').op(0x7d).str('version').int(1).op(0x73, 0x73, 0x62);
  return w.done();
}

/** A zip of stored entries, as PyTorch's writer makes it (data aligned by the local extra field). */
function zip(entries: Array<{ name: string; data: Uint8Array }>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const pad = (64 - ((offset + 30 + name.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0); // "FB", PyTorch's padding record
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt32LE(crc32(e.data), 16);
    header.writeUInt32LE(e.data.length, 20);
    header.writeUInt32LE(e.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(offset, 42);
    central.push(header, name);
    parts.push(local, name, extra, Buffer.from(e.data));
    offset += 30 + name.length + extra.length + e.data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

describe('pytorch_model.bin (plain state dict)', () => {
  it('reads tensors, shared storages and strided views', async () => {
    // One storage of 6 floats seen as w [2, 3], as its transpose wt [3, 2] and as a row view;
    // a HalfStorage for h.
    const pickle = stateDictPickle([
      { name: 'w', storage: { key: '0', type: 'FloatStorage', numel: 6 }, offset: 0, shape: [2, 3], stride: [3, 1] },
      { name: 'wt', storage: { key: '0', type: 'FloatStorage', numel: 6 }, offset: 0, shape: [3, 2], stride: [1, 3] },
      { name: 'row', storage: { key: '0', type: 'FloatStorage', numel: 6 }, offset: 3, shape: [3], stride: [1] },
      { name: 'h', storage: { key: '1', type: 'HalfStorage', numel: 2 }, offset: 0, shape: [2], stride: [1] },
    ]);
    const half = new Uint8Array(Uint16Array.of(toHalfBits(0.5), toHalfBits(-3)).buffer);
    const file = join(dir, 'pytorch_model.bin');
    await writeFile(
      file,
      zip([
        { name: 'archive/data.pkl', data: pickle },
        { name: 'archive/byteorder', data: Buffer.from('little') },
        { name: 'archive/data/0', data: f32Bytes([1, 2, 3, 4, 5, 6]) },
        { name: 'archive/data/1', data: half },
        { name: 'archive/version', data: Buffer.from('3\n') },
      ]),
    );
    const source = await openTorchBin(file);
    try {
      expect(source.tensors.get('wt')).toEqual({ dtype: 'F32', shape: [3, 2] });
      expect([...(await source.read('w')).data]).toEqual([1, 2, 3, 4, 5, 6]);
      expect([...(await source.read('wt')).data]).toEqual([1, 4, 2, 5, 3, 6]);
      expect([...(await source.read('row')).data]).toEqual([4, 5, 6]);
      expect([...(await source.read('h')).data]).toEqual([0.5, -3]);
    } finally {
      await source.close();
    }
  });

  it('refuses a pickle that names anything but a state dict', async () => {
    const tensor = { name: 'w', storage: { key: '0', type: 'FloatStorage', numel: 1 }, offset: 0, shape: [1], stride: [1] };
    const write = async (name: string, pickle: Uint8Array): Promise<string> => {
      const file = join(dir, name);
      await writeFile(file, zip([{ name: 'm/data.pkl', data: pickle }, { name: 'm/data/0', data: f32Bytes([1]) }]));
      return file;
    };
    // A "state dict" whose second value calls os.system: refused before anything is built.
    const evil = stateDictPickle([tensor], (w) => w.str('x').global('os', 'system').str('echo owned').op(0x85, 0x52));
    const refused = await rejection(openTorchBin(await write('evil.bin', evil)));
    expect(refused.code).toBe('E_MODEL');
    expect(refused.message).toMatch(/not a plain state dict \(it refers to os\.system, which a state dict never does\).*convert it to safetensors/);

    const model = new PickleWriter().global('transformers.models.bert.modeling_bert', 'BertForMaskedLM').op(0x29, 0x52).done();
    expect((await rejection(openTorchBin(await write('module.bin', model)))).message).toMatch(/refers to transformers\.models\.bert\.modeling_bert\.BertForMaskedLM/);

    const nested = stateDictPickle([tensor], (w) => w.str('epoch').int(3));
    expect((await rejection(openTorchBin(await write('nested.bin', nested)))).message).toMatch(/entry epoch is not a tensor/);

    const unknownOp = Uint8Array.of(0x80, 2, 0x69, 0x2e); // INST
    expect((await rejection(openTorchBin(await write('inst.bin', unknownOp)))).message).toMatch(/pickle opcode 0x69/);
  });

  it('names the legacy format, non-zip files and missing storages', async () => {
    const legacy = join(dir, 'legacy.bin');
    await writeFile(legacy, Uint8Array.of(0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e));
    expect((await rejection(openTorchBin(legacy))).message).toMatch(/legacy \(pre-1\.6\) torch\.save format; convert it to safetensors/);

    const text = join(dir, 'text.bin');
    await writeFile(text, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 440000000\n');
    expect((await rejection(openTorchBin(text))).message).toMatch(/not a readable PyTorch zip checkpoint \(no end-of-directory record\)/);

    const pickle = stateDictPickle([{ name: 'w', storage: { key: '7', type: 'FloatStorage', numel: 1 }, offset: 0, shape: [1], stride: [1] }]);
    const missing = join(dir, 'missing.bin');
    await writeFile(missing, zip([{ name: 'a/data.pkl', data: pickle }]));
    const source = await openTorchBin(missing);
    try {
      expect((await rejection(source.read('w'))).message).toMatch(/storage 7 of w is missing/);
    } finally {
      await source.close();
    }
  });
});
