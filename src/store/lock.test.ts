import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    for (const [owner, command] of [
      [{ pid: DEAD_PID, host: hostname() }, 'after a crash'],
      [{ pid: process.pid, host: hostname() }, 'pid reused'],
    ] as const) {
      plant(owner);
      const lock = WriterLock.acquire(dir, command);
      // The lock file now names the new holder, not the planted one.
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname(), command });
      expect(lock.owner.command).toBe(command);
      lock.release();
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    }
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
    // A live writer's staging file (this process's parent) is not touched.
    const live = `${LOCK_FILE}.${process.ppid}`;
    writeFileSync(join(dir, live), '{}');
    const lock = WriterLock.acquire(dir, 'cleaner');
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE, live].sort());
    lock.release();
    rmSync(join(dir, live));
    expect(readdirSync(dir)).toEqual([]);
  });
});
