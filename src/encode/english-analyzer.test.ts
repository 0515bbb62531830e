import { describe, expect, it } from 'vitest';
import { EnglishAnalyzer } from './english-analyzer.js';
import { porterStem } from './porter-stemmer.js';

describe('porterStem', () => {
  // Examples from Porter (1980) and the reference implementation's vocabulary/output lists.
  const cases: Array<[string, string]> = [
    ['caresses', 'caress'], ['ponies', 'poni'], ['ties', 'ti'], ['caress', 'caress'], ['cats', 'cat'],
    ['feed', 'feed'], ['agreed', 'agre'], ['plastered', 'plaster'], ['bled', 'bled'], ['motoring', 'motor'], ['sing', 'sing'],
    ['conflated', 'conflat'], ['troubled', 'troubl'], ['sized', 'size'], ['hopping', 'hop'], ['tanned', 'tan'], ['falling', 'fall'],
    ['hissing', 'hiss'], ['fizzed', 'fizz'], ['failing', 'fail'], ['filing', 'file'], ['happy', 'happi'], ['sky', 'sky'],
    ['relational', 'relat'], ['conditional', 'condit'], ['rational', 'ration'], ['valenci', 'valenc'], ['hesitanci', 'hesit'],
    ['digitizer', 'digit'], ['conformabli', 'conform'], ['radicalli', 'radic'], ['differentli', 'differ'], ['vileli', 'vile'],
    ['analogousli', 'analog'], ['vietnamization', 'vietnam'], ['predication', 'predic'], ['operator', 'oper'], ['feudalism', 'feudal'],
    ['decisiveness', 'decis'], ['hopefulness', 'hope'], ['callousness', 'callous'], ['formaliti', 'formal'], ['sensitiviti', 'sensit'],
    ['sensibiliti', 'sensibl'], ['triplicate', 'triplic'], ['formative', 'form'], ['formalize', 'formal'], ['electriciti', 'electr'],
    ['electrical', 'electr'], ['hopeful', 'hope'], ['goodness', 'good'], ['revival', 'reviv'], ['allowance', 'allow'], ['inference', 'infer'],
    ['airliner', 'airlin'], ['gyroscopic', 'gyroscop'], ['adjustable', 'adjust'], ['defensible', 'defens'], ['irritant', 'irrit'],
    ['replacement', 'replac'], ['adjustment', 'adjust'], ['dependent', 'depend'], ['adoption', 'adopt'], ['homologou', 'homolog'],
    ['communism', 'commun'], ['activate', 'activ'], ['angulariti', 'angular'], ['homologous', 'homolog'], ['effective', 'effect'],
    ['bowdlerize', 'bowdler'], ['probate', 'probat'], ['rate', 'rate'], ['cease', 'ceas'], ['controll', 'control'], ['roll', 'roll'],
    ['generalizations', 'gener'], ['oscillators', 'oscil'], ['biology', 'biologi'], ['archaeology', 'archaeolog'], ['is', 'is'], ['a', 'a'],
  ];
  it.each(cases)('%s → %s', (word, stem) => expect(porterStem(word)).toBe(stem));
});

describe('EnglishAnalyzer', () => {
  const analyzer = new EnglishAnalyzer();

  it('tokenizes like Lucene StandardTokenizer on common cases', () => {
    expect(analyzer.tokens("The U.S.A. isn't 3.5% of 1,000 covid19 cases, e.g. 5mg/kg—really?")).toEqual([
      'The', 'U.S.A', "isn't", '3.5', 'of', '1,000', 'covid19', 'cases', 'e.g', '5mg', 'kg', 'really',
    ]);
    expect(analyzer.tokens('中文 text')).toEqual(['中', '文', 'text']);
    expect(analyzer.tokens('trailing. dots, and-hyphens')).toEqual(['trailing', 'dots', 'and', 'hyphens']);
  });

  it('removes possessives and stop words, lower-cases and stems', () => {
    expect(analyzer.terms("The patient's cells are dividing and it is not the Brain's fault")).toEqual(['patient', 'cell', 'divid', 'brain', 'fault']);
  });

  it('can skip stemming and stop words', () => {
    const plain = new EnglishAnalyzer({ stemmer: 'none', stopwords: 'none' });
    expect(plain.terms('The Cells are dividing')).toEqual(['the', 'cells', 'are', 'dividing']);
  });
});
