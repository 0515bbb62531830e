/**
 * The Porter (1980) stemming algorithm, in the form of Martin Porter's reference implementation
 * (including its two documented departures from the paper: -bli → -ble and -logi → -log), which is
 * also what Lucene's `PorterStemFilter` (and therefore Anserini/Pyserini BM25 baselines) uses.
 *
 * Input is expected lower-case. Words of one or two letters are returned unchanged. Characters other
 * than a–z are treated as consonants, as in the reference code.
 */

export function porterStem(word: string): string {
  if (word.length <= 2) return word;
  const stemmer = new PorterWord(word);
  stemmer.step1ab();
  if (stemmer.k > 0) {
    stemmer.step1c();
    stemmer.step2();
    stemmer.step3();
    stemmer.step4();
    stemmer.step5();
  }
  return stemmer.result();
}

/** Mutable working state of one word: `b[0..k]` is the current stem, `j` the end of a tested stem. */
class PorterWord {
  private readonly b: string[];
  k: number;
  private j = 0;

  constructor(word: string) {
    this.b = word.split('');
    this.k = word.length - 1;
  }

  result(): string {
    return this.b.slice(0, this.k + 1).join('');
  }

  /** True when b[i] is a consonant; 'y' is a consonant at the start or after a vowel. */
  private cons(i: number): boolean {
    switch (this.b[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i === 0 ? true : !this.cons(i - 1);
      default:
        return true;
    }
  }

  /** The measure m of b[0..j]: the number of vowel-consonant sequences, [C](VC)^m[V]. */
  private m(): number {
    let n = 0;
    let i = 0;
    const j = this.j;
    for (;;) {
      if (i > j) return n;
      if (!this.cons(i)) break;
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) return n;
        if (this.cons(i)) break;
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) return n;
        if (!this.cons(i)) break;
        i++;
      }
      i++;
    }
  }

  /** True when b[0..j] contains a vowel. */
  private vowelInStem(): boolean {
    for (let i = 0; i <= this.j; i++) if (!this.cons(i)) return true;
    return false;
  }

  /** True when b[i-1..i] is a double consonant. */
  private doubleConsonant(i: number): boolean {
    return i >= 1 && this.b[i] === this.b[i - 1] && this.cons(i);
  }

  /** True when b[i-2..i] is consonant-vowel-consonant and the last is not w, x or y (e.g. -hop). */
  private cvc(i: number): boolean {
    if (i < 2 || !this.cons(i) || this.cons(i - 1) || !this.cons(i - 2)) return false;
    const ch = this.b[i];
    return ch !== 'w' && ch !== 'x' && ch !== 'y';
  }

  /** True when b[0..k] ends with `suffix`; then j is set to the index before the suffix. */
  private ends(suffix: string): boolean {
    const length = suffix.length;
    if (length > this.k + 1) return false;
    const start = this.k - length + 1;
    for (let i = 0; i < length; i++) if (this.b[start + i] !== suffix[i]) return false;
    this.j = this.k - length;
    return true;
  }

  /** Replaces b[j+1..k] with `replacement`. */
  private setTo(replacement: string): void {
    const start = this.j + 1;
    for (let i = 0; i < replacement.length; i++) this.b[start + i] = replacement[i];
    this.k = this.j + replacement.length;
  }

  /** setTo when the stem before the suffix has measure > 0. */
  private r(replacement: string): void {
    if (this.m() > 0) this.setTo(replacement);
  }

  /** Plurals and -ed / -ing: caresses → caress, ponies → poni, meetings → meet, hopping → hop. */
  step1ab(): void {
    const b = this.b;
    if (b[this.k] === 's') {
      if (this.ends('sses')) this.k -= 2;
      else if (this.ends('ies')) this.setTo('i');
      else if (b[this.k - 1] !== 's') this.k--;
    }
    if (this.ends('eed')) {
      if (this.m() > 0) this.k--;
    } else if ((this.ends('ed') || this.ends('ing')) && this.vowelInStem()) {
      this.k = this.j;
      if (this.ends('at')) this.setTo('ate');
      else if (this.ends('bl')) this.setTo('ble');
      else if (this.ends('iz')) this.setTo('ize');
      else if (this.doubleConsonant(this.k)) {
        this.k--;
        const ch = b[this.k];
        if (ch === 'l' || ch === 's' || ch === 'z') this.k++;
      } else if (this.m() === 1 && this.cvc(this.k)) this.setTo('e'); // j === k here: m() measures the stem
    }
  }

  /** Terminal y → i when there is another vowel in the stem: happy → happi. */
  step1c(): void {
    if (this.ends('y') && this.vowelInStem()) this.b[this.k] = 'i';
  }

  /** Double suffixes to single ones: -ization → -ize, -ational → -ate, ... (when m > 0). */
  step2(): void {
    if (this.k < 1) return;
    const rules = STEP2_RULES[this.b[this.k - 1]];
    if (rules !== undefined) this.applyFirst(rules);
  }

  /** -ic-, -full, -ness etc. */
  step3(): void {
    const rules = STEP3_RULES[this.b[this.k]];
    if (rules !== undefined) this.applyFirst(rules);
  }

  /** Removes -ant, -ence etc. when m > 1. */
  step4(): void {
    if (this.k < 1) return;
    const suffixes = STEP4_SUFFIXES[this.b[this.k - 1]];
    if (suffixes === undefined) return;
    let matched = false;
    for (const suffix of suffixes) {
      if (this.ends(suffix)) {
        // -ion is removed only after s or t (adoption → adopt, but not "lion").
        if (suffix === 'ion' && !(this.j >= 0 && (this.b[this.j] === 's' || this.b[this.j] === 't'))) continue;
        matched = true;
        break;
      }
    }
    if (matched && this.m() > 1) this.k = this.j;
  }

  /** Removes a final -e when m > 1 (or m = 1 and not *o), and -ll → -l when m > 1. */
  step5(): void {
    this.j = this.k;
    if (this.b[this.k] === 'e') {
      const a = this.m();
      if (a > 1 || (a === 1 && !this.cvc(this.k - 1))) this.k--;
    }
    if (this.b[this.k] === 'l' && this.doubleConsonant(this.k) && this.m() > 1) this.k--;
  }

  private applyFirst(rules: ReadonlyArray<readonly [string, string]>): void {
    for (const [suffix, replacement] of rules) {
      if (this.ends(suffix)) {
        this.r(replacement);
        return;
      }
    }
  }
}

/** Step 2 rules keyed by the penultimate letter, tried in order; the first matching suffix decides. */
const STEP2_RULES: Record<string, ReadonlyArray<readonly [string, string]>> = {
  a: [['ational', 'ate'], ['tional', 'tion']],
  c: [['enci', 'ence'], ['anci', 'ance']],
  e: [['izer', 'ize']],
  l: [['bli', 'ble'], ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous']],
  o: [['ization', 'ize'], ['ation', 'ate'], ['ator', 'ate']],
  s: [['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous']],
  t: [['aliti', 'al'], ['iviti', 'ive'], ['biliti', 'ble']],
  g: [['logi', 'log']],
};

/** Step 3 rules keyed by the last letter. */
const STEP3_RULES: Record<string, ReadonlyArray<readonly [string, string]>> = {
  e: [['icate', 'ic'], ['ative', ''], ['alize', 'al']],
  i: [['iciti', 'ic']],
  l: [['ical', 'ic'], ['ful', '']],
  s: [['ness', '']],
};

/** Step 4 suffixes keyed by the penultimate letter, in the reference order. */
const STEP4_SUFFIXES: Record<string, readonly string[]> = {
  a: ['al'],
  c: ['ance', 'ence'],
  e: ['er'],
  i: ['ic'],
  l: ['able', 'ible'],
  n: ['ant', 'ement', 'ment', 'ent'],
  o: ['ion', 'ou'],
  s: ['ism'],
  t: ['ate', 'iti'],
  u: ['ous'],
  v: ['ive'],
  z: ['ize'],
};
