/** Counts in output sentences: "1 document", "2 documents" — never "1 documents". */

/** `count` and the noun in the number it needs; `pluralForm` for irregular nouns ("1 summary entry", "2 summary entries"). */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
