/**
 * `spladex/bench` — benchmarking: the seeded synthetic SPLADE-like collection generator, the
 * latency/recall/throughput benchmark of an index, machine description and the Pareto plot
 * (vega loads only when a plot is drawn). Re-exports only.
 */
export { BENCH_OPTIONS, BENCH_DEFAULTS, runBench, sweepTableRows, tradeoffPoints, type BenchReport } from './bench.js';
export { formatSweepTable, paretoPlotSvg, PARETO_PLOT_DEFAULTS, SWEEP_TABLE_DEFAULTS } from './plot.js';
export { describeMachine, formatBytes, formatMachine, TIME_QUERIES_DEFAULTS, type MachineInfo } from './stats.js';
export { SYNTH_OPTIONS, SYNTH_DEFAULTS, formatWeight, readVocabFile, type SynthOptions } from './synth-model.js';
export { SyntheticCollection, synthDocuments, synthQueries } from './synth.js';
export { writeSynthetic, type WriteSyntheticOptions } from './synth-write.js';
export { Rng } from '../util/rng.js';
