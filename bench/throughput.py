"""Throughput, cost over the tokenizer floor, cold start and memory of the coder (issue 2).

    .venv/bin/python bench/throughput.py [--quick]

Two workloads: the 2,377 real mtsamples reports (the real mix, where most notes hold no IVUS)
and the IVUS-dense notes of the corpus (every split). For each: notes/s with 1 and 2 worker
processes (pools warmed up, start-up excluded), the time of the full coder divided by the time of
spaCy's bare English tokenizer on the same texts (the floor), cold start (import + pipeline build,
in a fresh interpreter) and peak RSS per process. Results go to stdout and bench/results/.
Targets (issue 2): ratio <= 2.0 on mtsamples and <= 5.0 on IVUS-dense notes; 2 workers >= 1.8x one;
cold start <= 2 s; peak RSS <= 400 MB per process. Timings are medians of repeated runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MTSAMPLES = ROOT.parent / "shared" / "data" / "mtsamples" / "mtsamples_from_scrapy_httpcache.csv"

_coder = None


def load_workloads() -> dict[str, list[str]]:
    from api.inputs import iter_documents
    from rules_core.gold import read_jsonl

    mts = [
        d.text or ""
        for d in iter_documents(
            [str(MTSAMPLES)], id_field="sid", text_field="transcription", unique=True
        )
    ]
    corpus = [
        d["text"]
        for split in ("train", "dev", "test")
        for d in read_jsonl(ROOT / "corpus" / f"{split}.jsonl")
    ]
    return {"mtsamples": [t for t in mts if t.strip()], "ivus-dense": corpus}


def _init() -> None:
    global _coder
    from api.coding import Coder

    _coder = Coder()


def _code_chunk(texts: list[str]) -> int:
    for text in texts:
        _coder.code(text)  # type: ignore[union-attr]
    return len(texts)


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure(texts: list[str], repeat: int) -> dict[str, float]:
    import spacy

    from api.coding import Coder

    tokenizer = spacy.blank("en").tokenizer
    coder = Coder()
    for text in texts[:50]:  # warm caches
        coder.code(text)
        tokenizer(text)
    floor = timed(lambda: [tokenizer(t) for t in texts], repeat)
    one = timed(lambda: [coder.code(t) for t in texts], repeat)
    chunks = [texts[i : i + 16] for i in range(0, len(texts), 16)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(2, initializer=_init) as pool:
        pool.map(_code_chunk, chunks[:4])  # warm both workers
        two = timed(lambda: sum(pool.map(_code_chunk, chunks, chunksize=1)), repeat)
        child_rss = max(pool.map(_child_rss, range(2)))
    return {
        "notes": len(texts),
        "tokenizer_s": round(floor, 4),
        "coder_1_worker_s": round(one, 4),
        "coder_2_workers_s": round(two, 4),
        "notes_per_s_1_worker": round(len(texts) / one, 1),
        "notes_per_s_2_workers": round(len(texts) / two, 1),
        "ms_per_note_1_worker": round(1000 * one / len(texts), 3),
        "ratio_to_tokenizer": round(one / floor, 2),
        "speedup_2_workers": round(one / two, 2),
        "worker_peak_rss_mb": round(child_rss, 1),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_rss(_: int) -> float:
    time.sleep(0.2)  # let both workers take one task each
    return peak_rss_mb()


def cold_start() -> float:
    code = (
        "import time; t = time.perf_counter(); from api.coding import Coder; Coder(); "
        "print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return round(statistics.median(runs), 3)


def coder_process_rss() -> float:
    """Peak RSS of a fresh process that builds the coder and codes the whole corpus."""
    code = (
        "import sys; sys.path.insert(0, '.'); from bench.throughput import peak_rss_mb; "
        "from api.coding import Coder; "
        "from rules_core.gold import read_jsonl; c = Coder(); "
        "[c.code(d['text']) for s in ('train', 'dev', 'test') "
        "for d in read_jsonl(f'corpus/{s}.jsonl')]; print(peak_rss_mb())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return round(float(out), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timing run instead of three")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    workloads = load_workloads()
    report = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "cold_start_s": cold_start(),
        "single_coder_process_peak_rss_mb": coder_process_rss(),
        "workloads": {name: measure(texts, repeat) for name, texts in workloads.items()},
    }
    report["benchmark_process_peak_rss_mb"] = round(
        peak_rss_mb(), 1
    )  # holds both workloads in memory
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "results" / f"throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
