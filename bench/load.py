"""Load benchmark of the HTTP service (a script, not a test).

Starts ``ivus-coder serve --workers 2`` on a free loopback port (authentication on, default
settings), posts a ~500-word operative note to ``/v1/code`` and measures:

  (a) N concurrent clients (default 32) for D seconds (default 60): requests/s, p50/p99, errors;
  (b) one client, one request at a time: p50/p99;

and, for comparison, the coder alone on the same note: per-note time in one process, and
documents/s in 2 processes (one pipeline each, as the service runs it). Targets (issue 4):
(a) ≥ 80% of the coder's own 2-process throughput with 0 errors; (b) p99 ≤ the coder's own time
per note + 5 ms. Prints a table and writes JSON to ``bench/results/``.

    .venv/bin/python bench/load.py [--duration 60] [--clients 32] [--single 2000]
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
def _coder_worker(args: tuple[str, float, float, int]) -> tuple[int, list[float]]:
    text, start_at, duration, warmup = args
    sys.path.insert(0, str(ROOT))
    from api.coding import Coder

    coder = Coder()
    for _ in range(warmup):
        coder.code(text)
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + duration
    times: list[float] = []
    while time.time() < end:
        began = time.perf_counter()
        coder.code(text)
        times.append(time.perf_counter() - began)
    return len(times), times


def coder_alone(text: str, processes: int, duration: float) -> dict[str, object]:
    """Documents/s of ``processes`` pipelines coding the note side by side for ``duration`` s,
    and the per-note time of one pipeline running alone."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        ((_, single),) = pool.map(_coder_worker, [(text, time.time() + 4, min(duration, 20.0), 20)])
    with context.Pool(processes) as pool:
        start_at = time.time() + 6  # every pipeline built and warm before the clock starts
        runs = pool.map(_coder_worker, [(text, start_at, duration, 20)] * processes)
    count = sum(n for n, _ in runs)
    return {
        "processes": processes,
        "seconds": duration,
        "documents": count,
        "docs_per_s": round(count / duration, 1),
        "per_note_one_process": summary_ms(single),
        "per_note_under_load": summary_ms([t for _, times in runs for t in times]),
    }


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


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a keep-alive connection; the status (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(int(v) for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "content-length")
    await reader.readexactly(length)
    return status


async def concurrent_load(port: int, body: bytes, clients: int, duration: float) -> dict[str, object]:
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
    }


def single_client(port: int, body: bytes, count: int) -> dict[str, object]:
    """One keep-alive connection (stdlib http.client: the cheapest client), one request at a time."""
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
    return {"requests": len(latencies), "errors": errors, "latency": summary_ms(latencies)}


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
    print(
        f"note: {report['note']['words']} words; machine: {report['machine']['cores']} cores, {report['machine']['cpu']}"
    )

    print(
        f"coder alone: 1 process, then {args.workers} processes for {args.duration:g} s ...",
        flush=True,
    )
    report["coder_alone"] = alone = coder_alone(text, args.workers, args.duration)

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "serve.log"
        process, port = start_server(args.workers, log)
        try:
            warm = single_client(port, body, 100)  # both workers warm
            print(f"service: {args.clients} clients for {args.duration:g} s ...", flush=True)
            before = metrics(port)
            load = asyncio.run(concurrent_load(port, body, args.clients, args.duration))
            load["server_coding_mean_ms"] = coding_mean_ms(before, metrics(port))
            print(f"service: one client, {args.single} requests ...", flush=True)
            before = metrics(port)
            single = single_client(port, body, args.single)
            single["server_coding_mean_ms"] = coding_mean_ms(before, metrics(port))
        finally:
            process.terminate()
            process.wait(timeout=30)
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

    rows = [
        ("coder alone, 1 process", "-", f"{coder_per_note['p50_ms']:.1f}", f"{coder_per_note['p99_ms']:.1f}", "-"),
        (f"coder alone, {args.workers} processes", f"{alone['docs_per_s']:.1f}", f"{alone['per_note_under_load']['p50_ms']:.1f}", f"{alone['per_note_under_load']['p99_ms']:.1f}", "-"),
        (f"service, {args.clients} clients", f"{load['requests_per_s']:.1f}", f"{load['latency']['p50_ms']:.1f}", f"{load['latency']['p99_ms']:.1f}", str(load["errors"])),
        ("service, 1 client", "-", f"{single['latency']['p50_ms']:.1f}", f"{single['latency']['p99_ms']:.1f}", str(single["errors"])),
    ]  # fmt: skip
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
    print(
        f"one-client p99 {single['latency']['p99_ms']:.1f} ms vs coder p50 + 5 = {targets['coder_p50_plus_5_ms']} ms: "
        f"{'met' if targets['single_p99_ok_vs_coder_p50'] else 'NOT met'}; vs coder p99 + 5 = "
        f"{targets['coder_p99_plus_5_ms']} ms: {'met' if targets['single_p99_ok_vs_coder_p99'] else 'NOT met'}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"load-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
