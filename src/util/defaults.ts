/**
 * Merges a user's options object over a defaults constant. Keys given as `undefined` keep their
 * default, so callers (and the CLI) can pass optional values straight through.
 */
export function withDefaults<T extends object>(defaults: Readonly<T>, options: Partial<T> | object = {}): T {
  const merged = { ...defaults } as T;
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  return merged;
}
