/**
 * `spladex/bench` — benchmarking: the seeded synthetic SPLADE-like collection generator, the
 * latency/recall/throughput benchmark of an index, machine description and the Pareto plot
 * (vega loads only when a plot is drawn). Re-exports only.
 */
export { BENCH_DEFAULTS, runBench, sweepTableRows, tradeoffPoints, type BenchReport } from './bench.js';
export { formatSweepTable, paretoPlotSvg } from './plot.js';
export { describeMachine, formatBytes, formatMachine, type MachineInfo } from './stats.js';
export { SYNTH_DEFAULTS, formatWeight, readVocabFile, writeSynthetic, type SynthOptions, type WriteSyntheticOptions } from './synth.js';
export { Rng } from '../util/rng.js';
