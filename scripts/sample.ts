/**
 * The README's first command: index the bundled sample (fixtures/sample) with the CLI, show what
 * was built, and search it with the sample queries, approximately and exactly.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}dist/cli/main.js`;
const out = `${root}sample-index`;

function run(args: string[]): void {
  process.stdout.write(`\n$ spladex ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(['index', 'fixtures/sample/documents.jsonl', '--out', 'sample-index', '--overwrite']);
run(['info', 'sample-index']);
run(['search', 'sample-index', '--queries', 'fixtures/sample/queries.jsonl', '--k', '5', '--format', 'table']);
run(['search', 'sample-index', '--queries', 'fixtures/sample/queries.jsonl', '--k', '5', '--format', 'trec', '--exact']);
process.stdout.write(`\nThe index is in ${out}; try: npx spladex search sample-index --queries fixtures/sample/queries.jsonl --format json\n`);
