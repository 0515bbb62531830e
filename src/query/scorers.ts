/** Which candidate scorer a segment gets: the one place that knows both implementations. */
import type { Segment } from '../segment/segment.js';
import type { CandidateScorer } from './candidate-scorer.js';
import { JsCandidateScorer } from './dot.js';
import { KernelMemory } from './wasm-kernel.js';

/** The WebAssembly kernel when the segment was read into kernel memory and its layout fits, else JavaScript. */
export function candidateScorerFor(segment: Segment): CandidateScorer {
  const { forward, inverted, meta } = segment;
  return (segment.memory instanceof KernelMemory ? segment.memory.scorerFor(forward, meta.nTerms, inverted) : undefined) ?? new JsCandidateScorer(forward, meta.nTerms, inverted);
}
