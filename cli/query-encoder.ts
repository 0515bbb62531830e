/** Text queries of `eval`, `bench` and `info --queries`: the index's stored encoder, opened only if a text line needs it. */
import { type Encoder } from '../src/encode/index.js';
import { openIndexEncoder } from '../src/index.js';
export interface LazyQueryEncoder {
  /** Opens the encoder stored with the index (once). */
  open: () => Promise<Encoder>;
  /** Disposes it if it was opened. */
  dispose: () => Promise<void>;
}

export function textQueryEncoder(dir: string, model: string | undefined): LazyQueryEncoder {
  let opened: Promise<Encoder> | undefined;
  return {
    open: () => (opened ??= openIndexEncoder(dir, model === undefined ? {} : { model })),
    dispose: async () => {
      if (opened !== undefined) await opened.then((e) => e.dispose(), () => undefined);
    },
  };
}
