import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, WriterLock } from './lock.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DEAD_PID = 2 ** 22 + 777;
const plant = (owner: Record<string, unknown>): void => writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ command: 'x', since: 'then', ...owner }));

describe('writer lock', () => {
  it('is exclusive, names its holder, and is released', () => {
    const lock = WriterLock.acquire(dir, 'first');
    expect(() => WriterLock.acquire(dir, 'second')).toThrow(expect.objectContaining({ code: 'E_LOCKED', message: expect.stringContaining('first') }));
    lock.release();
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    WriterLock.acquire(dir, 'third').release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('breaks locks of dead processes, including an earlier process that had our pid', () => {
    plant({ pid: DEAD_PID, host: hostname() });
    WriterLock.acquire(dir, 'after a crash').release();
    plant({ pid: process.pid, host: hostname() });
    WriterLock.acquire(dir, 'pid reused').release();
  });

  it('respects live holders, other hosts and unreadable lock files', () => {
    for (const content of [JSON.stringify({ pid: process.ppid, host: hostname(), command: 'parent', since: 'now' }), JSON.stringify({ pid: DEAD_PID, host: 'elsewhere', command: 'remote', since: 'now' }), 'garbage']) {
      writeFileSync(join(dir, LOCK_FILE), content);
      expect(() => WriterLock.acquire(dir, 'me')).toThrow(expect.objectContaining({ code: 'E_LOCKED' }));
    }
    rmSync(join(dir, LOCK_FILE));
  });

  it('removes staging files of writers that died while taking the lock', () => {
    writeFileSync(join(dir, `${LOCK_FILE}.${DEAD_PID}`), '{}');
    WriterLock.acquire(dir, 'cleaner').release();
    expect(readdirSync(dir)).toEqual([]);
  });
});
