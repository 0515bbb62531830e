/**
 * Starts and stops real OpenSearch nodes on loopback for the OpenSearch tests and benchmark: one
 * node, or a cluster of several (each with its own HTTP and transport port and data directory),
 * security off (the integ-test distribution has no security plugin), a small heap, and the
 * OpenSearch the fetch script laid out (scripts/opensearch/fetch.sh, run by .ci/run). OpenSearch
 * refuses to run as root, so as root the nodes run as `nobody` (setpriv) in directories it owns.
 * Every wait is bounded; `stop()` kills what was started and removes the work directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OPENSEARCH_VERSION = process.env.SPLADEX_OPENSEARCH_VERSION ?? '2.19.6';
/** The repository root: this file runs from scripts/opensearch (tests) or dist/scripts/opensearch. */
const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = existsSync(join(HERE, '../../package.json')) ? join(HERE, '../..') : join(HERE, '../../..');
/** Where fetch.sh installs the distribution. */
export const OPENSEARCH_HOME = process.env.SPLADEX_OPENSEARCH_HOME ?? join(ROOT, 'bench-data', 'opensearch', `opensearch-${OPENSEARCH_VERSION}`);
/** Whether a distribution with the rank_features module is installed. */
export const hasOpenSearch = existsSync(join(OPENSEARCH_HOME, 'modules', 'mapper-extras', 'plugin-descriptor.properties'));
export const OPENSEARCH_MISSING = `OpenSearch ${OPENSEARCH_VERSION} is not installed at ${OPENSEARCH_HOME}: run scripts/opensearch/fetch.sh (Maven Central; .ci/run does)`;

const JAVA_HOME = process.env.SPLADEX_OPENSEARCH_JAVA_HOME ?? ['/usr/lib/jvm/java-17-openjdk-amd64', '/usr/lib/jvm/java-21-openjdk-amd64'].find((d) => existsSync(d)) ?? process.env.JAVA_HOME ?? '';
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

export interface ClusterOptions {
  nodes?: number;
  /** Heap of each node in MiB. Default 256. */
  heapMb?: number;
  /** Milliseconds to wait for a node or the cluster. Default 180,000. */
  timeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function chownTree(path: string): void {
  chownSync(path, NOBODY, NOBODY);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry));
}

/**
 * As root the nodes run as `nobody`, who may not be able to reach the installed distribution (a
 * clone under a private home directory): then the nodes run from a copy in the work directory.
 */
function homeFor(workDir: string): string {
  if (!isRoot) return OPENSEARCH_HOME;
  const probe = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'test', '-x', join(OPENSEARCH_HOME, 'bin', 'opensearch')]);
  if (probe.status === 0) return OPENSEARCH_HOME;
  const copy = join(workDir, 'home');
  cpSync(OPENSEARCH_HOME, copy, { recursive: true });
  chownTree(copy);
  return copy;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface NodeSlot {
  name: string;
  dir: string;
  httpPort: number;
  transportPort: number;
  process?: ChildProcess;
}

export class OpenSearchCluster {
  private constructor(
    /** The distribution the nodes run from: the installed one, or a copy `nobody` can read. */
    private readonly home: string,
    readonly workDir: string,
    private readonly slots: NodeSlot[],
    private readonly heapMb: number,
    private readonly timeoutMs: number,
  ) {}

  get urls(): string[] {
    return this.slots.map((s) => `http://127.0.0.1:${s.httpPort}`);
  }

  static async start(options: ClusterOptions = {}): Promise<OpenSearchCluster> {
    if (!hasOpenSearch) throw new Error(OPENSEARCH_MISSING);
    const n = options.nodes ?? 1;
    const workDir = mkdtempSync(join(tmpdir(), 'spladex-opensearch-'));
    if (isRoot) chownSync(workDir, NOBODY, NOBODY);
    const slots: NodeSlot[] = [];
    for (let i = 0; i < n; i++) slots.push({ name: `node-${i}`, dir: join(workDir, `node-${i}`), httpPort: await freePort(), transportPort: await freePort() });
    const cluster = new OpenSearchCluster(homeFor(workDir), workDir, slots, options.heapMb ?? 256, options.timeoutMs ?? 180_000);
    try {
      for (let i = 0; i < n; i++) cluster.spawnNode(i);
      await cluster.waitForHealth(n === 1 ? 'green' : 'green', n);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private spawnNode(i: number): void {
    const slot = this.slots[i];
    const config = join(slot.dir, 'config');
    if (!existsSync(config)) {
      for (const d of ['data', 'logs', 'tmp']) mkdirSync(join(slot.dir, d), { recursive: true });
      cpSync(join(this.home, 'config'), config, { recursive: true });
      // The distribution's jvm.options logs GC to a path relative to its home, which `nobody` cannot write.
      writeFileSync(
        join(config, 'jvm.options'),
        [
          `-Xms${this.heapMb}m`,
          `-Xmx${this.heapMb}m`,
          '-XX:+UseSerialGC',
          '-XX:TieredStopAtLevel=1',
          '-Djava.io.tmpdir=${OPENSEARCH_TMPDIR}',
          `-XX:ErrorFile=${join(slot.dir, 'logs', 'hs_err_pid%p.log')}`,
          '18-:-Djava.security.manager=allow',
          '-Djava.util.concurrent.ForkJoinPool.common.threadFactory=org.opensearch.secure_sm.SecuredForkJoinWorkerThreadFactory',
          '',
        ].join('\n'),
      );
      if (isRoot) chownTree(slot.dir);
    }
    const seeds = this.slots.map((s) => `127.0.0.1:${s.transportPort}`).join(',');
    const settings = [
      `cluster.name=spladex-test`,
      `node.name=${slot.name}`,
      'network.host=127.0.0.1',
      `http.port=${slot.httpPort}`,
      `transport.port=${slot.transportPort}`,
      `path.data=${join(slot.dir, 'data')}`,
      `path.logs=${join(slot.dir, 'logs')}`,
      // A shared test machine's disk may be fuller than the default watermarks allow.
      'cluster.routing.allocation.disk.threshold_enabled=false',
      ...(this.slots.length === 1 ? ['discovery.type=single-node'] : [`discovery.seed_hosts=${seeds}`, `cluster.initial_cluster_manager_nodes=${this.slots.map((s) => s.name).join(',')}`]),
    ].map((s) => `-E${s}`);
    const bin = join(this.home, 'bin', 'opensearch');
    const command = isRoot ? 'setpriv' : bin;
    const args = isRoot ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', bin, ...settings] : settings;
    // Output goes to a file, not a pipe: a pipe nobody reads (a test blocked in spawnSync) would stall the node.
    const out = openSync(join(slot.dir, 'console.log'), 'a');
    const child = spawn(command, args, {
      cwd: slot.dir,
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, OPENSEARCH_JAVA_HOME: JAVA_HOME, OPENSEARCH_PATH_CONF: config, OPENSEARCH_TMPDIR: join(slot.dir, 'tmp') },
    });
    closeSync(out);
    slot.process = child;
  }

  /** Last lines a node printed (for failure messages). */
  logOf(i: number): string {
    const file = join(this.slots[i].dir, 'console.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '';
  }

  /** Waits until some node reports at least `status` with `nodes` nodes. */
  async waitForHealth(status: 'green' | 'yellow', nodes: number): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    const rank = { red: 0, yellow: 1, green: 2 } as Record<string, number>;
    while (Date.now() < deadline) {
      for (let i = 0; i < this.slots.length; i++) {
        if (this.slots[i].process === undefined) continue;
        try {
          const response = await fetch(`${this.urls[i]}/_cluster/health`, { signal: AbortSignal.timeout(2000) });
          const health = (await response.json()) as { status?: string; number_of_nodes?: number };
          if ((rank[health.status ?? 'red'] ?? 0) >= rank[status] && (health.number_of_nodes ?? 0) >= nodes) return;
        } catch {
          // Not up yet.
        }
      }
      for (let i = 0; i < this.slots.length; i++) {
        const p = this.slots[i].process;
        if (p !== undefined && p.exitCode !== null) throw new Error(`OpenSearch ${this.slots[i].name} exited with ${p.exitCode}:\n${this.logOf(i)}`);
      }
      await sleep(500);
    }
    throw new Error(`OpenSearch did not reach ${status} with ${nodes} nodes within ${this.timeoutMs} ms:\n${this.logOf(0)}`);
  }

  /** Stops node i (SIGKILL with `hard`: a crash), waiting until its process is gone. */
  async stopNode(i: number, { hard = false } = {}): Promise<void> {
    const p = this.slots[i].process;
    if (p === undefined) return;
    this.slots[i].process = undefined;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    const signal = (s: NodeJS.Signals): void => {
      try {
        process.kill(-p.pid!, s);
      } catch {
        // Already gone.
      }
    };
    signal(hard ? 'SIGKILL' : 'SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
    if (!killed) {
      signal('SIGKILL');
      await exited;
    }
  }

  /** Starts node i again on its ports and data directory. */
  startNode(i: number): void {
    if (this.slots[i].process === undefined) this.spawnNode(i);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) await this.stopNode(i);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
