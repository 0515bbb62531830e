/** Runs the built CLI (dist/) as a user would. `npm test` builds before running tests. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const SHARED = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const hasShared = existsSync(SHARED);
export const hasBuild = existsSync(CLI);

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], input?: string, env?: Record<string, string>): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024, env: env === undefined ? process.env : { ...process.env, ...env } });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
