"""Seismic (the authors' Rust engine, PyPI package `pyseismic-lsr`) as a speed yardstick.

A test peer for spladex's benchmark suite, never part of spladex itself: it builds a Seismic
index from the same JSONL documents spladex indexes and searches the same queries, so that
`scripts/bench-seismic.ts` can compare both engines at equal recall. Every subcommand writes one
JSON object (to --out, or stdout); progress goes to stderr.

  check                      the package's version (exit 3 when it cannot be imported)
  build  --docs F --index P  build, save to P.index.seismic, report build time, memory, bytes
  search --index P --queries F --out R.json
                             load (RSS before/after), then time every query single-threaded
                             for each query_cut x heap_factor x n_knn setting of the sweep

Input: spladex's vector JSONL, `{"id": "...", "vector": {"token": weight, ...}}` per line. Seismic
reads the same shape (its `content` field is optional), so the documents file is given to
`SeismicIndex.build` as it is and parsed by Seismic's own Rust reader: no conversion, no second
copy of a multi-gigabyte file, and the build time is Seismic's own, input parsing included, as
spladex's is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from importlib import metadata

PACKAGE = "pyseismic-lsr"

# Build settings. Where the defaults come from (Seismic's repository, TusKANNy/seismic):
# - centroid_fraction 0.1, summary_energy 0.4: README ("For Splade on MSMarco, good choices are
#   --n-postings 3500, --summary-energy 0.4, and --centroid-fraction 0.1") and the CIKM 2024
#   configuration with a k-NN graph (experiments/cikm2024/cocondenser_with_knn_mem_budget_1.5.toml);
# - min_cluster_size 2, doc_cut 15 (RandomKmeansInvertedIndexApprox, the Python default),
#   max_fraction 1.5: the package's own defaults, which docs/Guidelines.md recommends keeping;
# - knn 30: the CIKM 2024 configuration (knn = 30 at build and at query time);
# - n_postings: docs/Guidelines.md ties it to the collection size ([3000, 6000] for ~10M
#   documents, [60000, 80000] for MS MARCO v2's 138M), i.e. proportional to the number of
#   documents; the caller passes it (bench-seismic.ts scales the README's 3500 for 8.8M).
DEFAULT_BUILD = {
    "n_postings": 3500,
    "centroid_fraction": 0.1,
    "summary_energy": 0.4,
    "max_fraction": 1.5,
    "min_cluster_size": 2,
    "doc_cut": 15,
    "knn": 30,
}

DEFAULT_QUERY_CUTS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30]
DEFAULT_HEAP_FACTORS = [0.6, 0.7, 0.8, 0.9, 1.0]


class DriverError(Exception):
    """A failure the user can act on (bad input, missing file); exit status 2."""


def log(message: str) -> None:
    sys.stderr.write(f"[seismic {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def package_version() -> str:
    return metadata.version(PACKAGE)


def rss_bytes() -> int:
    """Resident set size now, from /proc (Linux); 0 where it is not available."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextlib.contextmanager
def captured_stdout(into: list[str]):
    """Captures what native code writes to file descriptor 1 (Rust's println!), not only sys.stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            into.append(sink.read().decode("utf-8", errors="replace"))


def space_usage(index) -> dict:
    """Seismic's own account of its memory (print_space_usage_byte), parsed into bytes per part."""
    text: list[str] = []
    with captured_stdout(text):
        index.print_space_usage_byte()
    parts: dict[str, int] = {}
    for line in text[0].splitlines():
        name, sep, value = line.strip().lstrip("├└─ ").partition(":")
        words = value.split()
        if sep and len(words) >= 2 and words[1] == "Bytes" and words[0].isdigit():
            parts[name.strip()] = int(words[0])
    # Text a native progress message left unterminated before the report is not part of it.
    report = text[0][text[0].find("Space Usage"):] if "Space Usage" in text[0] else text[0]
    return {"total": parts.get("Total", 0), "parts": parts, "text": report.strip()}


def write_json(value: dict, out: str | None) -> None:
    text = json.dumps(value)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    tmp = f"{out}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out)


def index_file(prefix: str) -> str:
    return f"{prefix}.index.seismic"


def cmd_check(_args) -> dict:
    import seismic  # noqa: F401  (the import is the check)

    return {"package": PACKAGE, "version": package_version(), "python": sys.version.split()[0]}


def cmd_build(args) -> dict:
    from seismic import SeismicIndex

    if not os.path.isfile(args.docs):
        raise DriverError(f"documents file not found: {args.docs}")
    settings = {name: getattr(args, name) for name in DEFAULT_BUILD}
    os.makedirs(os.path.dirname(os.path.abspath(args.index)), exist_ok=True)
    log(f"building Seismic {package_version()} index of {args.docs} with {settings}, {args.threads or 'all'} threads")
    build_log: list[str] = []
    started = time.perf_counter()
    with captured_stdout(build_log):
        index = SeismicIndex.build(
            args.docs,
            n_postings=args.n_postings,
            centroid_fraction=args.centroid_fraction,
            min_cluster_size=args.min_cluster_size,
            summary_energy=args.summary_energy,
            max_fraction=args.max_fraction,
            doc_cut=args.doc_cut,
            nknn=0,
            load_content=False,
            num_threads=args.threads,
        )
    index_seconds = time.perf_counter() - started
    log(f"inverted index built in {index_seconds:.1f} s ({index.len} documents)")
    knn_seconds = 0.0
    if args.knn > 0:
        # Built after the index, as Seismic's build(nknn=...) does (the graph is found with the
        # index itself), but timed apart so the report can show both parts.
        started = time.perf_counter()
        with captured_stdout(build_log):
            index.build_knn(args.knn)
        knn_seconds = time.perf_counter() - started
        log(f"k-NN graph (k = {args.knn}) built in {knn_seconds:.1f} s")
    memory = space_usage(index)
    started = time.perf_counter()
    with captured_stdout(build_log):
        index.save(args.index)
    save_seconds = time.perf_counter() - started
    path = index_file(args.index)
    return {
        "package": PACKAGE,
        "version": package_version(),
        "settings": settings,
        "threads": args.threads,
        "documents": index.len,
        "nnz": index.nnz,
        "dim": index.dim,
        "seconds": {"index": index_seconds, "knn": knn_seconds, "total": index_seconds + knn_seconds, "save": save_seconds},
        "memory": memory,
        "index_file": path,
        "disk_bytes": os.path.getsize(path),
        "log": "".join(build_log)[-4000:],
    }


def read_queries(path: str, limit: int) -> list[tuple[str, list[str], list[float]]]:
    queries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                vector = record["vector"]
                queries.append((str(record["id"]), list(vector.keys()), [float(v) for v in vector.values()]))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise DriverError(f"{path}:{number}: not a vector query line ({error})") from error
            if 0 < limit <= len(queries):
                break
    return queries


def median(values: list[float]) -> float:
    """The middle value (the mean of the middle two for an even count)."""
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 == 1 else (s[m - 1] + s[m]) / 2


def latency_summary(ms: list[float]) -> dict:
    """Nearest-rank percentiles, as spladex's latencyStats computes them (src/bench/stats.ts)."""
    s = sorted(ms)
    n = len(s)

    def rank(p: float) -> float:
        # The relative epsilon absorbs floating error (99 * 100 / 100 must be rank 99, not 100).
        return s[min(n, max(1, math.ceil(p * n / 100 * (1 - 1e-12)))) - 1]

    return {"mean": sum(s) / n, "p50": rank(50), "p95": rank(95), "p99": rank(99), "min": s[0], "max": s[-1]}


def cmd_search(args) -> dict:
    import numpy as np
    from seismic import SeismicIndex, get_seismic_string

    path = index_file(args.index)
    if not os.path.isfile(path):
        raise DriverError(f"Seismic index not found: {path} (run the build subcommand first)")
    queries = read_queries(args.queries, args.limit)
    if not queries:
        raise DriverError(f"{args.queries} holds no queries")
    token_type = get_seismic_string()
    # Arrays are made before any timing, so a query's latency is Seismic's search plus the call.
    prepared = [(qid, np.array(tokens, dtype=token_type), np.array(values, dtype=np.float32)) for qid, tokens, values in queries]

    rss_before = rss_bytes()
    started = time.perf_counter()
    load_log: list[str] = []
    with captured_stdout(load_log):
        index = SeismicIndex.load(path)
    load_seconds = time.perf_counter() - started
    rss_after = rss_bytes()
    memory = space_usage(index)
    graph = index.knn_len
    knn_values = sorted({min(v, graph) for v in args.n_knn}) if graph > 0 else [0]
    n = len(prepared)
    log(f"loaded {path} in {load_seconds:.1f} s (RSS +{(rss_after - rss_before) / 2**20:.0f} MiB); {n} queries, graph k = {graph}")

    def search(i: int, query_cut: int, heap_factor: float, n_knn: int):
        qid, tokens, values = prepared[i % n]
        return index.search(qid, tokens, values, args.k, query_cut, heap_factor, n_knn=n_knn, sorted=args.sorted)

    # The floor under every latency below: the same call with each query's tokens replaced by as
    # many unknown ones (converted and looked up like real tokens, then nothing to search), i.e.
    # what the Python binding and the query's conversion cost.
    unknown = [np.array([f"\u0001unknown{j}" for j in range(len(tokens))], dtype=token_type) for _qid, tokens, _values in prepared]
    floor = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        index.search(prepared[i][0], unknown[i], prepared[i][2], args.k, args.query_cuts[0], args.heap_factors[0], n_knn=0, sorted=args.sorted)
        floor.append((time.perf_counter_ns() - t0) / 1e6)
    call_overhead = latency_summary(floor)
    log(f"call overhead (unknown tokens): p50 {call_overhead['p50'] * 1000:.1f} us")

    sweep = []
    for n_knn in knn_values:
        for query_cut in args.query_cuts:
            for heap_factor in args.heap_factors:
                ids = []
                try:
                    # Untimed warm-up, cycling through the queries (caches, branch predictors), as
                    # spladex's bench warms up before each timed pass.
                    for i in range(min(args.warmup, n)):
                        search(i, query_cut, heap_factor, n_knn)
                    # Each query's latency is its median over the timed passes, as spladex's
                    # bench --passes computes it (src/bench/stats.ts).
                    per_query = [[] for _ in range(n)]
                    for _pass in range(args.passes):
                        ids = []
                        for i in range(n):
                            t0 = time.perf_counter_ns()
                            hits = search(i, query_cut, heap_factor, n_knn)
                            per_query[i].append((time.perf_counter_ns() - t0) / 1e6)
                            ids.append([doc for (_q, _score, doc) in hits])
                    latencies = [median(times) for times in per_query]
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as error:  # noqa: BLE001  a Rust panic is a pyo3 PanicException, a BaseException
                    # Seismic can panic on degenerate indexes (e.g. a k-NN graph of a few hundred
                    # documents); the setting is reported as failed and the sweep goes on.
                    log(f"query_cut {query_cut}, heap_factor {heap_factor}, n_knn {n_knn}: failed ({type(error).__name__}: {error})")
                    sweep.append({"query_cut": query_cut, "heap_factor": heap_factor, "n_knn": n_knn, "error": f"{type(error).__name__}: {error}"})
                    continue
                summary = latency_summary(latencies)
                sweep.append({"query_cut": query_cut, "heap_factor": heap_factor, "n_knn": n_knn, "latency_ms": summary, "ids": ids})
                log(f"query_cut {query_cut}, heap_factor {heap_factor}, n_knn {n_knn}: p50 {summary['p50']:.3f} ms, p99 {summary['p99']:.3f} ms")
    return {
        "package": PACKAGE,
        "version": package_version(),
        "index_file": path,
        "k": args.k,
        "sorted": args.sorted,
        "warmup": args.warmup,
        "passes": args.passes,
        "query_ids": [q[0] for q in prepared],
        "graph_neighbors": graph,
        "call_overhead_ms": call_overhead,
        "load": {"seconds": load_seconds, "rss_before": rss_before, "rss_after": rss_after, "rss_delta": rss_after - rss_before},
        "memory": memory,
        "sweep": sweep,
    }


def number_list(kind):
    def parse(text: str):
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"not a comma-separated list of {kind.__name__}: {text}") from error

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Seismic (pyseismic-lsr) as a test peer of spladex's benchmarks")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print the package version")

    b = sub.add_parser("build", help="build and save a Seismic index")
    b.add_argument("--docs", required=True, help="documents JSONL ({id, vector} lines)")
    b.add_argument("--index", required=True, help="index path prefix (writes PREFIX.index.seismic)")
    b.add_argument("--out", help="write the JSON report here instead of stdout")
    b.add_argument("--threads", type=int, default=0, help="build threads (0 = all cores, Rayon's default)")
    for name, default in DEFAULT_BUILD.items():
        b.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default), default=default, help=f"default {default}")

    s = sub.add_parser("search", help="time queries over a sweep of query-time settings")
    s.add_argument("--index", required=True, help="index path prefix given to build")
    s.add_argument("--queries", required=True, help="queries JSONL ({id, vector} lines)")
    s.add_argument("--out", help="write the JSON report here instead of stdout")
    s.add_argument("--limit", type=int, default=0, help="first n queries only (0 = all)")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--warmup", type=int, default=500, help="untimed queries before each timed pass (at most one pass)")
    s.add_argument("--passes", type=int, default=1, help="timed passes per setting; a query's latency is its median over them")
    s.add_argument("--query-cuts", type=number_list(int), default=DEFAULT_QUERY_CUTS)
    s.add_argument("--heap-factors", type=number_list(float), default=DEFAULT_HEAP_FACTORS)
    s.add_argument("--n-knn", type=number_list(int), default=[0, 5, 10, DEFAULT_BUILD["knn"]], help="graph neighbours scanned per result (capped at the stored k)")
    s.add_argument("--unsorted", dest="sorted", action="store_false", help="do not scan the first list's blocks by summary score")
    return p


def main() -> int:
    args = parser().parse_args()
    try:
        if args.command == "check":
            write_json(cmd_check(args), None)
        elif args.command == "build":
            write_json(cmd_build(args), args.out)
        else:
            write_json(cmd_search(args), args.out)
    except ImportError as error:
        sys.stderr.write(f"seismic_bench: {PACKAGE} is not importable: {error}\n")
        return 3
    except DriverError as error:
        sys.stderr.write(f"seismic_bench: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
