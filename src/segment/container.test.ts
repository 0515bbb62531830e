import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { decodeStrings, encodeStrings, readContainer, writeContainer } from './container.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-container-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('container', () => {
  const path = join(dir, 'a.spx');
  const sections = {
    bytes: Uint8Array.from([1, 2, 3]),
    halves: Uint16Array.from([7, 8, 9, 10, 11]),
    ids: Uint32Array.from([1, 1 << 31]),
    floats: Float32Array.from([0.5, -1.25]),
    empty: new Uint32Array(0),
  };

  it('round-trips typed sections with their element types', () => {
    writeContainer(path, sections);
    const { sections: read } = readContainer(path);
    for (const [name, array] of Object.entries(sections)) {
      const got = read.get(name)!;
      expect(got.constructor).toBe(array.constructor);
      expect(Array.from(got)).toEqual(Array.from(array));
    }
  });

  it('rejects every single-byte flip anywhere in the file', () => {
    writeContainer(path, sections);
    const original = readFileSync(path);
    const rng = new Rng(99);
    for (let position = 0; position < original.length; position++) {
      const damaged = Buffer.from(original);
      damaged[position] ^= 1 << rng.int(8);
      const target = join(dir, 'damaged.spx');
      writeFileSync(target, damaged);
      let error: unknown;
      try {
        readContainer(target);
      } catch (e) {
        error = e;
      }
      expect(isSpladexError(error) && ['E_CORRUPT', 'E_NOT_AN_INDEX'].includes(error.code), `flip at byte ${position}`).toBe(true);
      expect((error as Error).message).toContain(target);
    }
  });

  it('reads into the buffer an allocator gives, after showing it the size and the section table', () => {
    writeContainer(path, sections);
    const backing = new ArrayBuffer(1 << 16);
    let seen: Array<{ name: string; bytes: number }> = [];
    const { sections: read } = readContainer(path, (size, table) => {
      seen = table.map(({ name, bytes }) => ({ name, bytes }));
      return new Uint8Array(backing, 64, size);
    });
    expect(seen).toEqual(Object.entries(sections).map(([name, array]) => ({ name, bytes: array.byteLength })));
    for (const [name, array] of Object.entries(sections)) {
      const got = read.get(name)!;
      expect(got.buffer).toBe(backing);
      expect(Array.from(got)).toEqual(Array.from(array));
    }
    // Declining (undefined) means a fresh buffer; a misaligned or wrongly sized one is a bug.
    expect(readContainer(path, () => undefined).sections.get('ids')!.buffer).not.toBe(backing);
    expect(() => readContainer(path, (size) => new Uint8Array(backing, 4, size))).toThrow(/misaligned/);
    expect(() => readContainer(path, (size) => new Uint8Array(backing, 0, size + 8))).toThrow(/wrongly sized/);
  });

  it('rejects a truncated file', () => {
    writeContainer(path, sections);
    const target = join(dir, 'short.spx');
    writeFileSync(target, readFileSync(path).subarray(0, 100));
    expect(() => readContainer(target)).toThrow(expect.objectContaining({ code: 'E_CORRUPT' }));
  });

  it('encodes string tables including non-ASCII and empty strings', () => {
    const strings = ['', 'café', '##ing', '日本', 'a'];
    const { offsets, text } = encodeStrings(strings);
    expect(decodeStrings(offsets, text, 'x')).toEqual(strings);
  });
});
