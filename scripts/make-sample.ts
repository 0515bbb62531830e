/**
 * Regenerates the bundled sample collection in fixtures/sample/ with the project's own seeded
 * synthetic SPLADE-like generator. Token strings come from the bert-base-uncased vocabulary when
 * ../shared is present (as when the committed sample was made), synthetic names otherwise.
 *
 *   npm run build && node dist/scripts/make-sample.js
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readVocabFile, writeSynthetic } from '../src/bench/index.js';const root = fileURLToPath(new URL('../../', import.meta.url));
const vocabPath = `${root}../shared/data/vocab/bert-base-uncased.vocab.txt`;
const vocab = existsSync(vocabPath) ? await readVocabFile(vocabPath) : undefined;
const result = await writeSynthetic({ docs: 1000, queries: 20, seed: 7, topics: 40, outDir: `${root}fixtures/sample`, overwrite: true, ...(vocab ? { vocab } : {}) });
console.log(`wrote ${result.docs} documents and ${result.queries} queries to fixtures/sample (${vocab ? 'bert-base-uncased tokens' : 'synthetic tokens'})`);
