import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchPacker, planSequences } from './batching.js';
import { BertWordPieceTokenizer, parseVocabTxt } from './bert-tokenizer.js';
import { bertTokenizerJson, TINY_VOCABULARY } from '../testing/tiny-model.js';
import { loadTokenizerJson, loadVocabTxtTokenizer, type TextTokenizer } from './tokenizer.js';

const BERT_VOCAB = '../shared/data/vocab/bert-base-uncased.vocab.txt';

describe.skipIf(!existsSync(BERT_VOCAB))('bert-base-uncased vocab.txt', () => {
  let tokenizer: TextTokenizer;
  let lines: string[];
  beforeAll(async () => {
    tokenizer = await loadVocabTxtTokenizer(BERT_VOCAB);
    lines = parseVocabTxt(readFileSync(BERT_VOCAB, 'utf8'));
  });

  // Expected ids; every one is also checked against its 0-based line in the vocab file below.
  const cases: Array<[string, number[], string[]]> = [
    ['Hello, World!', [7592, 1010, 2088, 999], ['hello', ',', 'world', '!']],
    ['The café is naïve.', [1996, 7668, 2003, 15743, 1012], ['the', 'cafe', 'is', 'naive', '.']],
    ['unaffable', [14477, 20961, 3468], ['una', '##ffa', '##ble']],
    ['Tokenization of SPLADE vectors', [19204, 3989, 1997, 11867, 27266, 2063, 19019], ['token', '##ization', 'of', 'sp', '##lad', '##e', 'vectors']],
    ["don't stop at 3.14", [2123, 1005, 1056, 2644, 2012, 1017, 1012, 2403], ['don', "'", 't', 'stop', 'at', '3', '.', '14']],
    ['中文字', [1746, 1861, 100], ['中', '文', '[UNK]']],
    ['emoji 🥰 here', [7861, 29147, 2072, 100, 2182], ['em', '##oj', '##i', '[UNK]', 'here']],
    ['ÀÉÎÕÜ résumé', [29347, 3695, 2226, 13746], ['ae', '##io', '##u', 'resume']],
    ['x[MASK]y', [1060, 103, 1061], ['x', '[MASK]', 'y']],
    ['hello\u0000wor\u200bld', [7592, 11108], ['hello', '##world']],
  ];

  it.each(cases)('tokenizes %j', (text, ids, tokens) => {
    expect(Array.from(tokenizer.encode(text))).toEqual(ids);
    expect(ids.map((id) => lines[id])).toEqual(tokens);
  });

  it('knows the special tokens and wraps sequences in [CLS] … [SEP]', () => {
    expect(tokenizer.vocabSize).toBe(30522);
    expect(Array.from(tokenizer.prefixIds)).toEqual([101]);
    expect(Array.from(tokenizer.suffixIds)).toEqual([102]);
    expect(tokenizer.padId).toBe(0);
    expect([0, 100, 101, 102, 103].map((id) => tokenizer.isSpecial[id])).toEqual([1, 1, 1, 1, 1]);
    expect(tokenizer.isSpecial[1996]).toBe(0);
    expect(tokenizer.spec).toMatchObject({ type: 'bert-wordpiece', source: 'vocab.txt', lowercase: true, stripAccents: true, vocabSize: 30522 });
  });

  it('truncates model sequences to maxLength including [CLS] and [SEP]', () => {
    const content = tokenizer.encode('Hello, World! The café is naïve.');
    const maxLength = 8;
    const plan = planSequences([content.length], maxLength - 2, 'truncate', 0);
    const packed = new BatchPacker(tokenizer.prefixIds, tokenizer.suffixIds, tokenizer.padId, false).pack(Uint32Array.of(0), plan, [content]);
    expect(Array.from(packed.inputIds)).toEqual([101, 7592, 1010, 2088, 999, 1996, 7668, 102]);
  });

  it('turns a word longer than 100 characters into [UNK]', () => {
    expect(Array.from(tokenizer.encode(`${'a'.repeat(101)} the`))).toEqual([100, 1996]);
    expect(Array.from(tokenizer.encode('a'.repeat(100))).includes(100)).toBe(false);
  });

  it('matches @huggingface/tokenizers on mixed text (except the final-sigma rule, where we follow Rust)', () => {
    const vocab: Record<string, number> = {};
    lines.forEach((t, i) => (vocab[t] = i));
    const reference = new Tokenizer(
      {
        added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({ id: vocab[content], content, normalized: false, special: true })),
        normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        post_processor: null,
        decoder: null,
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
      },
      {},
    );
    const texts = [
      'Alterations of the architecture of cerebral white matter (MRI) in 2,000+ neonates; p<0.05.',
      'Ünïcödé façade — “quotes” … and ‘apostrophes’ in São Paulo',
      'tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic space',
      '日本語のテキストと한국어 텍스트',
      'mixed [CLS] specials [SEP] in text [PAD]',
      'ﬁne ligatures ① ½ x² Ⅻ',
    ];
    for (const text of texts) {
      expect(Array.from(tokenizer.encode(text)), text).toEqual(reference.encode(text, { add_special_tokens: false }).ids);
    }
    // Rust lower-cases character by character: a final capital sigma becomes σ, not ς.
    expect(tokenizer.encode('ΟΔΟΣ').length).toBeGreaterThan(0);
    expect(Array.from(tokenizer.encode('ΟΔΟΣ')).map((id) => lines[id]).join(' ')).toBe('ο ##δ ##ο ##σ');
  });
});

describe('BertWordPieceTokenizer on a small vocabulary', () => {
  const vocabulary = TINY_VOCABULARY;
  const tokenizer = new BertWordPieceTokenizer({ vocabulary, addedTokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] });
  const tokens = (text: string): string[] => tokenizer.tokenize(text);

  it('lower-cases, strips accents and splits punctuation', () => {
    expect(tokens('Hello, CAFÉ!')).toEqual(['hello', ',', 'cafe', '!']);
  });

  it('uses ## continuation pieces, longest match first', () => {
    expect(tokens('cells learning')).toEqual(['cells', 'learn', '##ing']);
    expect(tokens('models')).toEqual(['models']);
    expect(tokens('modeler')).toEqual(['model', '##er']);
  });

  it('gives [UNK] for a word with an unknown character', () => {
    expect(tokens('hello wörld é ß')).toEqual(['hello', 'world', 'e', '[UNK]']);
    expect(tokens('wxyz')).toEqual(['w', '##x', '##y', '##z']);
    expect(tokens('smile😀')).toEqual(['[UNK]']);
  });

  it('splits CJK ideographs, including supplementary-plane ones, into single characters', () => {
    expect(tokens('中文本')).toEqual(['中', '文', '本']);
    expect(tokens('中\u{20000}文')).toEqual(['中', '[UNK]', '文']);
  });

  it('can stay cased', () => {
    const cased = new BertWordPieceTokenizer({ vocabulary: [...vocabulary, 'Hello'], lowercase: false });
    expect(cased.tokenize('Hello hello')).toEqual(['Hello', 'hello']);
    expect(cased.stripAccents).toBe(false);
  });

  it('returns an empty array for empty or whitespace-only text', () => {
    expect(tokenizer.encode('')).toHaveLength(0);
    expect(tokenizer.encode(' \t\n ')).toHaveLength(0);
  });
});

describe('tokenizer files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spladex-tok-'));
    await writeFile(join(dir, 'vocab.txt'), TINY_VOCABULARY.join('\r\n') + '\r\n');
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(TINY_VOCABULARY)));
    const generic = bertTokenizerJson(TINY_VOCABULARY) as Record<string, unknown>;
    // A non-BERT normaliser forces the @huggingface/tokenizers path.
    generic.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] };
    await writeFile(join(dir, 'generic.json'), JSON.stringify(generic));
    await writeFile(join(dir, 'broken.json'), '{"model": ');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reads vocab.txt with CRLF line ends', async () => {
    const tokenizer = await loadVocabTxtTokenizer(join(dir, 'vocab.txt'));
    expect(tokenizer.vocabSize).toBe(TINY_VOCABULARY.length);
    expect(tokenizer.vocabulary[2]).toBe('[CLS]');
  });

  it('uses the fast path for a BERT tokenizer.json and agrees with vocab.txt', async () => {
    const fromJson = await loadTokenizerJson(join(dir, 'tokenizer.json'));
    const fromVocab = await loadVocabTxtTokenizer(join(dir, 'vocab.txt'));
    expect(fromJson.spec.type).toBe('bert-wordpiece');
    expect(Array.from(fromJson.prefixIds)).toEqual([2]);
    expect(Array.from(fromJson.suffixIds)).toEqual([3]);
    const text = 'Hello world: sparse retrieval of cells, 中文!';
    expect(Array.from(fromJson.encode(text))).toEqual(Array.from(fromVocab.encode(text)));
  });

  it('falls back to @huggingface/tokenizers for other tokenizer.json files', async () => {
    const generic = await loadTokenizerJson(join(dir, 'generic.json'));
    expect(generic.spec.type).toBe('hf-tokenizer-json');
    expect(generic.encode('Hello CAFÉ').length).toBeGreaterThan(0);
    expect(Array.from(generic.encode('hello world')).map((id) => generic.vocabulary[id])).toEqual(['hello', 'world']);
  });

  it('reports unreadable files as E_MODEL', async () => {
    await expect(loadTokenizerJson(join(dir, 'broken.json'))).rejects.toMatchObject({ code: 'E_MODEL' });
    await expect(loadVocabTxtTokenizer(join(dir, 'missing.txt'))).rejects.toMatchObject({ code: 'E_MODEL' });
  });
});
