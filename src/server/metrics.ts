/**
 * `GET /metrics` in the Prometheus text format (prom-client): requests by method, route and
 * status; a latency histogram per route; the search pool's queue depth, searches in flight and
 * completed; the index generation served; and prom-client's process metrics (resident memory,
 * event-loop lag, …). One registry per server, so servers in one process never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SearchPoolStats as PoolStats } from '../pool/pool.js';

/** Latency buckets in seconds: sub-millisecond searches to multi-second writes. */
const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];

export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'spladex_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'spladex_http_request_duration_seconds',
    help: 'time from receiving a request to sending its answer, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });

  constructor(stats: () => PoolStats) {
    const gauge = (name: string, help: string, read: (s: PoolStats) => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read(stats()));
        },
      });
    };
    gauge('spladex_search_threads', 'search worker threads (0: searches run on the main thread)', (s) => s.threads);
    gauge('spladex_search_queue_depth', 'searches waiting for a search thread', (s) => s.queueDepth);
    gauge('spladex_search_in_flight', 'searches running', (s) => s.inFlight);
    gauge('spladex_searches_completed', 'searches finished since the server started', (s) => s.completed);
    gauge('spladex_index_generation', 'generation of the committed index state being served', (s) => s.generation);
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered request; `route` is the route's pattern (`/documents/:id`), never the raw URL, so labels stay few. */
  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.duration.observe({ method, route }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
