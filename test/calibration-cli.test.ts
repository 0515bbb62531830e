/**
 * The recall target through the CLI: `index --calibration-queries` (every document still indexed:
 * the query log is read before the documents stream), `info` and `search --target-recall`,
 * `--calibration-sample 0`, and the typed error for a target on an uncalibrated index.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthDocuments, synthQueries } from '../src/bench/synth.js';
import { CLI, hasBuild, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-calibration-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const options = { docs: 2000, queries: 40, seed: 21 };
const documents = join(dir, 'documents.jsonl');
const queries = join(dir, 'queries.jsonl');
writeFileSync(documents, [...synthDocuments(options)].map((d) => JSON.stringify(d)).join('\n') + '\n');
writeFileSync(queries, [...synthQueries(options)].map((q) => JSON.stringify(q)).join('\n') + '\n');

describe.skipIf(!hasBuild)(`the recall target through the CLI (${CLI})`, () => {
  it('calibrates on a given query log without losing a document, and info shows it', () => {
    const index = join(dir, 'logged');
    const built = runCli(['index', documents, '--out', index, '--quiet', '--json', '--calibration-queries', queries, '--target-recall', '0.9']);
    expect(built.status).toBe(0);
    const summary = JSON.parse(built.stdout);
    expect(summary.documents).toBe(2000);
    expect(summary.calibration).toMatchObject({ source: 'given', targetRecall: 0.9, queries: 40, strata: [{ name: 'query log', queries: 40 }] });
    const info = runCli(['info', index]);
    expect(info.stdout).toMatch(/calibration +target recall@10 0\.9 on 40 queries of a given query log/);
    expect(info.stdout).toMatch(/default +exact search|default +query cut/);
    const search = runCli(['search', index, '--queries', queries, '--target-recall', '0.99', '--format', 'json']);
    expect(search.status).toBe(0);
    expect(search.stdout.trim().split('\n')).toHaveLength(40);
  });

  it('--calibration-sample 0 builds without calibration; a target then is a usage error', () => {
    const index = join(dir, 'plain');
    expect(runCli(['index', documents, '--out', index, '--quiet', '--calibration-sample', '0']).status).toBe(0);
    expect(runCli(['info', index]).stdout).toMatch(/calibration +none/);
    const search = runCli(['search', index, '--queries', queries, '--target-recall', '0.9']);
    expect(search.status).toBe(2);
    expect(search.stderr).toContain('E_OPTION');
    expect(runCli(['search', index, '--queries', queries, '--target-recall', '1.5']).stderr).toMatch(/--target-recall must be in \(0, 1\], got 1\.5/);
  });
});
