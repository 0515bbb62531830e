/**
 * The PyTorch reference fixtures of test/fixtures/models (scripts/reference/make_model_fixtures.py),
 * completed at test time from the shared data: the repository holds the random-weight checkpoints,
 * configs, expected vectors and token ids, but not the bert-base-uncased vocabulary nor the
 * collections' texts, which stay in ../shared/data (never copied into the repository). Tests using
 * them skip when the shared data is absent.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODEL_FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
const SHARED = process.env.SPLADEX_SHARED ?? fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const VOCABULARY = join(SHARED, 'vocab', 'bert-base-uncased.vocab.txt');
const COLLECTIONS = ['scifact', 'cacm', 'vaswani'] as const;

/** Whether the shared data the fixtures need (the vocabulary and the three corpora) is there. */
export const hasFixtureSharedData = existsSync(VOCABULARY) && COLLECTIONS.every((c) => existsSync(join(SHARED, 'collections', c, 'corpus.jsonl')));

export type FixtureModel = 'bert-tiny' | 'distilbert-tiny';

/**
 * A complete Hugging Face model directory of a fixture model in `outDir`: its committed files, plus
 * its tokenizer from the shared vocabulary (bert-tiny: tokenizer.json from its committed template,
 * whose WordPiece vocabulary is the vocabulary file's lines in order; distilbert-tiny: vocab.txt).
 */
export function fixtureModelDir(model: FixtureModel, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const source = join(MODEL_FIXTURES, model);
  for (const file of readdirSync(source)) if (file !== 'tokenizer.template.json') copyFileSync(join(source, file), join(outDir, file));
  if (model === 'distilbert-tiny') copyFileSync(VOCABULARY, join(outDir, 'vocab.txt'));
  else {
    const template = JSON.parse(readFileSync(join(source, 'tokenizer.template.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    const tokens = readFileSync(VOCABULARY, 'utf8').split('\n');
    if (tokens[tokens.length - 1] === '') tokens.pop();
    template.model.vocab = Object.fromEntries(tokens.map((token, i) => [token, i]));
    writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(template));
  }
  return outDir;
}

/** The bert-base-uncased vocabulary, one token per id. */
export function fixtureVocabulary(): string[] {
  const tokens = readFileSync(VOCABULARY, 'utf8').split('\n');
  if (tokens[tokens.length - 1] === '') tokens.pop();
  return tokens;
}

export interface FixtureText {
  id: string;
  source: string;
  text: string;
}

/**
 * The fixture texts in their order: the shared collections' documents by id, as the reference
 * script composed them (title and text joined by one space, as spladex's corpus reader does), and
 * the tokenizer edge cases the fixture file holds itself.
 */
export function fixtureTexts(): FixtureText[] {
  const listed = readFileSync(join(MODEL_FIXTURES, 'texts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; source: string; text?: string });
  const wanted = new Set(listed.filter((t) => t.text === undefined).map((t) => t.id));
  const found = new Map<string, string>();
  for (const collection of COLLECTIONS) {
    for (const line of readFileSync(join(SHARED, 'collections', collection, 'corpus.jsonl'), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as { _id: string; title?: string; text: string };
      const id = `${collection}:${record._id}`;
      if (wanted.has(id)) found.set(id, record.title ? `${record.title} ${record.text}` : record.text);
    }
  }
  return listed.map((t) => {
    const text = t.text ?? found.get(t.id);
    if (text === undefined) throw new Error(`fixture text ${t.id} is not in the shared collections`);
    return { id: t.id, source: t.source, text };
  });
}
