"""Load benchmark of the HTTP service (a script, not a test).

Starts ``ivus-coder serve --workers 2`` on a free loopback port (authentication on, default
settings), posts a ~500-word operative note to ``/v1/code`` and measures:

  (a) N concurrent clients (default 32), D seconds in all (default 60): requests/s, p50/p99,
      errors;
  (b) one client, one request at a time (default 2000 requests): p50/p99;

and, for comparison, the coder alone on the same note, without HTTP: documents/s of 2 pipelines
in 2 processes (as the service runs them), and the per-note time of one pipeline. The machine is
shared, so the two sides alternate in short rounds (default 6) and whatever else runs weighs on
both alike; the JSON records how busy the machine was during each side. Targets (issue 4):
(a) >= 80% of the coder's own 2-process throughput with 0 errors; (b) p99 <= the coder's own
time per note + 5 ms. The load generator is a few lines of asyncio (no HTTP library), so that
it takes little CPU from the 2 cores. Prints a table and writes JSON to ``bench/results/``.

    .venv/bin/python bench/load.py [--duration 60] [--clients 32] [--single 2000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTE = ROOT / "bench" / "load_note.txt"
RESULTS = ROOT / "bench" / "results"
KEY = "bench-key-" + os.urandom(8).hex()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 2),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


# --- the coder alone ---------------------------------------------------------------------------
_coder = None


def _init_coder(text: str) -> None:
    """Pool initializer: one pipeline per process, warmed up on the note."""
    global _coder
    sys.path.insert(0, str(ROOT))
    from api.coding import Coder

    _coder = Coder()
    for _ in range(20):
        _coder.code(text)


def _code_until(args: tuple[str, float, float]) -> list[float]:
    """Code the note from ``start_at`` until ``end_at`` (wall clock); the time of each note."""
    text, start_at, end_at = args
    assert _coder is not None
    while time.time() < start_at:
        time.sleep(0.0005)
    times: list[float] = []
    while time.time() < end_at:
        began = time.perf_counter()
        _coder.code(text)
        times.append(time.perf_counter() - began)
    return times


def _code_count(args: tuple[str, int]) -> list[float]:
    text, count = args
    assert _coder is not None
    times = []
    for _ in range(count):
        began = time.perf_counter()
        _coder.code(text)
        times.append(time.perf_counter() - began)
    return times


class CoderAlone:
    """``processes`` pipelines in a process pool, as the service runs them, without HTTP."""

    def __init__(self, text: str, processes: int) -> None:
        self.text = text
        self.processes = processes
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(processes, initializer=_init_coder, initargs=(text,))
        self.pool.map(_code_count, [(text, 1)] * processes)  # every pipeline built

    def side_by_side(self, seconds: float) -> list[float]:
        start_at = time.time() + 0.5
        runs = self.pool.map(
            _code_until, [(self.text, start_at, start_at + seconds)] * self.processes
        )
        return [t for times in runs for t in times]

    def one(self, count: int) -> list[float]:
        return self.pool.apply(_code_count, ((self.text, count),))

    def close(self) -> None:
        self.pool.terminate()


# --- the service -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "IVUS_CODER_API_KEYS": KEY}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())",
        "serve", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.time() + 120
    ready = 0
    while time.time() < deadline and ready < 2 * workers:
        if process.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace"))
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            ready = ready + 1 if connection.getresponse().status == 200 else 0
            connection.close()
        except OSError:
            ready = 0
        time.sleep(0.25)
    return process, port


def metrics(port: int) -> dict[str, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("ivus_coder_coding_duration_seconds_sum") or line.startswith(
            "ivus_coder_coding_duration_seconds_count"
        ):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def coding_mean_ms(before: dict[str, float], after: dict[str, float]) -> float:
    total = (
        after["ivus_coder_coding_duration_seconds_sum"]
        - before["ivus_coder_coding_duration_seconds_sum"]
    )
    count = (
        after["ivus_coder_coding_duration_seconds_count"]
        - before["ivus_coder_coding_duration_seconds_count"]
    )
    return round(1000 * total / count, 2) if count else float("nan")


def request_bytes(port: int, body: bytes) -> bytes:
    head = (
        f"POST /v1/code HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """One request on a keep-alive connection; the status (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(
        int(v)
        for k, _, v in (line.partition(":") for line in lines[1:])
        if k.lower() == "content-length"
    )
    await reader.readexactly(length)
    return status


async def concurrent_load(
    port: int, body: bytes, clients: int, duration: float
) -> dict[str, object]:
    """``clients`` keep-alive connections, each posting as soon as it is answered. The client is
    a few lines of asyncio (no HTTP library) so that it takes little of the machine's CPU."""
    request = request_bytes(port, body)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    end = time.perf_counter() + duration

    async def one_client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < end:
                began = time.perf_counter()
                try:
                    status: int | str = await _exchange(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    status = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if status == 200:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        finally:
            writer.close()

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "latency": summary_ms(latencies),
        "load_generator_cpu_share": round(cpu / elapsed, 3),
        "_latencies": latencies,
    }


def single_client(port: int, body: bytes, count: int) -> dict[str, object]:
    """One keep-alive connection (stdlib http.client), one request at a time."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    for _ in range(count):
        began = time.perf_counter()
        connection.request("POST", "/v1/code", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status == 200:
            latencies.append(time.perf_counter() - began)
        else:
            errors += 1
    connection.close()
    return {
        "requests": len(latencies),
        "errors": errors,
        "latency": summary_ms(latencies),
        "_latencies": latencies,
    }


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    """Share of the machine's CPU time (all cores) that was busy between two readings."""
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total else float("nan")


def machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds of (a) and of the 2-process coder run"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--single", type=int, default=2000, help="requests of (b)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds (default: 6)")
    parser.add_argument("--note", type=Path, default=NOTE)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    text = args.note.read_text(encoding="utf-8")
    body = json.dumps({"id": "bench", "text": text}).encode()
    report: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "note": {
            "path": str(args.note.relative_to(ROOT)),
            "words": len(text.split()),
            "chars": len(text),
        },
    }
    cores, cpu = report["machine"]["cores"], report["machine"]["cpu"]
    print(f"note: {report['note']['words']} words; machine: {cores} cores, {cpu}")

    # Coder alone and service alternate in short rounds, so that whatever else the machine runs
    # weighs on both sides alike (it is shared: see machine_busy_share in the JSON).
    rounds = max(1, args.rounds)
    span = args.duration / rounds
    per_round = max(1, args.single // rounds)
    alone_times: list[float] = []
    one_times: list[float] = []
    load_rounds: list[dict[str, object]] = []
    single_rounds: list[dict[str, object]] = []
    busy = {"coder": [0.0, 0.0], "service": [0.0, 0.0]}

    def measure(kind: str, run: Any) -> Any:
        before = cpu_times()
        value = run()
        after = cpu_times()
        busy[kind][0] += after[0] - before[0]
        busy[kind][1] += after[1] - before[1]
        return value

    coder = CoderAlone(text, args.workers)
    with tempfile.TemporaryDirectory() as folder:
        process, port = start_server(args.workers, Path(folder) / "serve.log")
        try:
            warm = single_client(port, body, 100)  # both workers warm
            print(
                f"{rounds} rounds of {span:g} s: coder alone ({args.workers} processes), then "
                f"{args.clients} clients; then {per_round} notes, one at a time, each way",
                flush=True,
            )
            for number in range(rounds):
                alone_times += measure("coder", lambda: coder.side_by_side(span))
                before = metrics(port)
                load = measure(
                    "service", lambda: asyncio.run(concurrent_load(port, body, args.clients, span))
                )
                load["server_coding_mean_ms"] = coding_mean_ms(before, metrics(port))
                load_rounds.append(load)
                one_times += coder.one(per_round)
                before = metrics(port)
                single = single_client(port, body, per_round)
                single["server_coding_mean_ms"] = coding_mean_ms(before, metrics(port))
                single_rounds.append(single)
                rate = load["requests_per_s"]
                print(f"  round {number + 1}: service {rate} req/s", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
            coder.close()

    total_seconds = span * rounds
    alone = {
        "processes": args.workers,
        "seconds": total_seconds,
        "documents": len(alone_times),
        "docs_per_s": round(len(alone_times) / total_seconds, 1),
        "per_note_one_process": summary_ms(one_times),
        "per_note_under_load": summary_ms(alone_times),
        "machine_busy_share": round(busy["coder"][0] / busy["coder"][1], 3),
    }
    latencies = [x for r in load_rounds for x in r.pop("_latencies")]
    requests = sum(int(r["requests"]) for r in load_rounds)
    seconds = sum(float(r["seconds"]) for r in load_rounds)
    errors = sum(int(r["errors"]) for r in load_rounds)
    load = {
        "clients": args.clients,
        "seconds": round(seconds, 1),
        "requests": requests,
        "requests_per_s": round(requests / seconds, 1),
        "errors": errors,
        "latency": summary_ms(latencies),
        "machine_busy_share": round(busy["service"][0] / busy["service"][1], 3),
        "rounds": load_rounds,
    }
    single_latencies = [x for r in single_rounds for x in r.pop("_latencies")]
    single = {
        "requests": len(single_latencies),
        "errors": sum(int(r["errors"]) for r in single_rounds),
        "latency": summary_ms(single_latencies),
        "server_coding_mean_ms": round(
            statistics.fmean(float(r["server_coding_mean_ms"]) for r in single_rounds), 2
        ),
    }
    report["coder_alone"] = alone
    report["service"] = {
        "workers": args.workers,
        "warmup_errors": warm["errors"],
        "concurrent": load,
        "single_client": single,
    }

    coder_per_note = alone["per_note_one_process"]
    ratio = load["requests_per_s"] / alone["docs_per_s"]
    report["targets"] = {
        "throughput_ratio": round(ratio, 3),
        "throughput_ok": ratio >= 0.8 and load["errors"] == 0,
        "single_p99_ms": single["latency"]["p99_ms"],
        "coder_p50_plus_5_ms": round(coder_per_note["p50_ms"] + 5, 2),
        "coder_p99_plus_5_ms": round(coder_per_note["p99_ms"] + 5, 2),
        "single_p99_ok_vs_coder_p50": single["latency"]["p99_ms"] <= coder_per_note["p50_ms"] + 5,
        "single_p99_ok_vs_coder_p99": single["latency"]["p99_ms"] <= coder_per_note["p99_ms"] + 5,
    }

    under = alone["per_note_under_load"]
    n, clients = args.workers, args.clients
    lat, one = load["latency"], single["latency"]
    rows = [
        ("coder alone, 1 process", "-", coder_per_note["p50_ms"], coder_per_note["p99_ms"], "-"),
        (f"coder alone, {n} processes", alone["docs_per_s"], under["p50_ms"], under["p99_ms"], "-"),
        (
            f"service, {clients} clients",
            load["requests_per_s"],
            lat["p50_ms"],
            lat["p99_ms"],
            load["errors"],
        ),
        ("service, 1 client", "-", one["p50_ms"], one["p99_ms"], single["errors"]),
    ]
    rows = [tuple(f"{c:.1f}" if isinstance(c, float) else str(c) for c in row) for row in rows]
    header = ("run", "docs/s", "p50 ms", "p99 ms", "errors")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    targets = report["targets"]
    print(
        f"throughput: {ratio:.1%} of the coder alone (target >= 80%, 0 errors): "
        f"{'met' if targets['throughput_ok'] else 'NOT met'}"
    )
    p99 = single["latency"]["p99_ms"]
    vs_p50 = "met" if targets["single_p99_ok_vs_coder_p50"] else "NOT met"
    vs_p99 = "met" if targets["single_p99_ok_vs_coder_p99"] else "NOT met"
    print(
        f"one-client p99 {p99:.1f} ms vs coder p50 + 5 = {targets['coder_p50_plus_5_ms']} ms: "
        f"{vs_p50}; vs coder p99 + 5 = {targets['coder_p99_plus_5_ms']} ms: {vs_p99}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"load-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
