import { defineConfig } from 'vitest/config';

/**
 * Suites that take tens of seconds on a loaded 2-core machine: crash, damage, load and
 * differential sweeps. `npm test` leaves them out so that it stays under 5 minutes there;
 * `npm run test:slow` (vitest.slow.config.ts) runs them, and CI (.ci/run) runs both.
 * docs/TESTING.md has the timings that put each here.
 */
export const SLOW_TESTS = [
  'test/crash.test.ts', // SIGKILLs CLI writers at random moments, over and over
  'test/serve-load.test.ts', // concurrent HTTP load, SIGKILL during writes
  'src/reader/corruption.test.ts', // flips bytes across every file of an index
  'src/segment/blocks.test.ts', // blocking and summaries against the reference implementation
  'src/encode/convert/convert.test.ts', // checkpoint → ONNX conversions against PyTorch's outputs
  'src/writer/calibration.test.ts', // calibrated builds of 15,000-document collections against exact search
  'test/opensearch-exact.test.ts', // a real OpenSearch node (JVM start, export, exact search against spladex's)
  'test/opensearch-cluster.test.ts', // a real 3-node OpenSearch cluster, a node killed mid-loop, export resumed
];

/**
 * Every test must finish at least 4× below its time-out in the loaded measurement
 * (docs/TESTING.md: the slowest took 19 s), so a time-out means a hang, not a busy machine.
 */
const TEST_TIMEOUT_MS = 120_000;

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**', ...SLOW_TESTS],
    testTimeout: TEST_TIMEOUT_MS,
    hookTimeout: TEST_TIMEOUT_MS,
    // CLI and crash tests spawn child processes: separate processes keep their native handles apart.
    pool: 'forks',
    // Two files at a time even on two cores: most tests wait for a CLI child or for I/O, and on a
    // machine busy with other work two workers get their share of it (docs/TESTING.md).
    maxWorkers: 2,
    // A forgotten `.only` must fail the run, not silently skip the rest of the suite (locally too:
    // pass --allowOnly to focus on purpose).
    allowOnly: false,
  },
});
