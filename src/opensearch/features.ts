/**
 * Token ↔ `rank_features` feature name. A `rank_feature` query names its feature as
 * `<field>.<feature>` and OpenSearch splits that at the last dot, so a feature whose name holds a
 * dot ("." and "##." are BERT tokens, "u.s" an analyzer's) is indexed but can never be queried.
 * Tokens are therefore escaped percent-style — "%" → "%25", "." → "%2E" — which is reversible
 * and leaves every other token (including "##ing") as it is, so the mapping reads naturally.
 *
 * Feature values must be positive normal float32 numbers (≥ 2^-126): a zero weight contributes
 * nothing and is left out; smaller positive weights are raised to the smallest normal float, which
 * changes a score by less than 2^-126 × the query weight.
 */

/** The smallest value a rank feature accepts (the smallest positive normal float32). */
const MIN_FEATURE_VALUE = 2 ** -126;

/** The feature name of a token. */
export function featureName(token: string): string {
  return token.includes('%') || token.includes('.') ? token.replace(/[%.]/g, (c) => (c === '%' ? '%25' : '%2E')) : token;
}

/** The token of a feature name (`featureName`'s inverse). */
export function tokenOfFeature(name: string): string {
  return name.includes('%') ? name.replace(/%2E|%25/g, (escape) => (escape === '%2E' ? '.' : '%')) : name;
}

/** A weight as a feature value, or undefined when it has no feature (zero). */
export function featureValue(weight: number): number | undefined {
  if (!(weight > 0)) return undefined;
  return weight < MIN_FEATURE_VALUE ? MIN_FEATURE_VALUE : weight;
}
