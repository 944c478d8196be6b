"""The service's small parts: rate limiter, key store, settings hand-over, ``ivus-coder serve``
refusing to start without keys, and several worker processes behind one port."""

from __future__ import annotations

import json
import os
import signal
import statistics
import time

import httpx
import pytest

from api.auth import KeyStore, read_keys
from api.cli import main
from api.config import CONFIG_ENV, ServiceSettings
from api.problems import Problem
from api.ratelimit import RateLimiter
from rules_core.errors import IvusCoderError

from .conftest import API_KEY, AUTH, Server
from .notes import VENOUS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate():
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(Problem) as refused:
        limiter.check("a")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "1"
    limiter.check("b")  # buckets are per caller
    clock.now += 0.5  # one token back at 2/s
    limiter.check("a")
    with pytest.raises(Problem):
        limiter.check("a")
    clock.now += 10
    for _ in range(3):
        limiter.check("a")  # refilled, but never above the burst
    with pytest.raises(Problem):
        limiter.check("a")


def test_rate_zero_is_off():
    limiter = RateLimiter(rate=0, burst=1)
    for _ in range(100):
        limiter.check("a")


def test_the_bucket_table_stays_bounded(monkeypatch):
    import api.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "MAX_CALLERS", 10)
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=5, clock=clock)
    for n in range(50):
        limiter.check(f"caller-{n}")
        clock.now += 1
    assert len(limiter._buckets) <= 10


def test_keys_are_read_from_env_and_file_and_kept_as_digests(tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# comment\n\n  file-key-0123456789abcdef  \n", encoding="utf-8")
    keys = read_keys(
        str(keys_file), environ={"IVUS_CODER_API_KEYS": "a-0123456789abcdef,,b-0123456789abcdef "}
    )
    assert keys == ["a-0123456789abcdef", "b-0123456789abcdef", "file-key-0123456789abcdef"]
    store = KeyStore.from_keys(keys)
    assert store.identify(
        "a-0123456789abcdef",
    ).startswith("key:")
    assert store.identify("nope") is None and store.identify(None) is None
    assert "a-0123456789abcdef" not in repr(store)


def test_key_errors():
    with pytest.raises(IvusCoderError) as missing:
        read_keys("/no/such/keys/file", environ={})
    assert missing.value.code == "E102"
    with pytest.raises(IvusCoderError) as none:
        KeyStore.from_keys([])
    assert none.value.code == "E101"


def test_settings_travel_to_workers_as_json():
    settings = ServiceSettings(batch_limit=7, rate_limit=0, api_keys_file="/k")
    assert ServiceSettings.from_env({CONFIG_ENV: settings.to_env()}) == settings
    assert ServiceSettings.from_env({}) == ServiceSettings()
    with pytest.raises(ValueError):
        ServiceSettings.from_env({CONFIG_ENV: json.dumps({"bogus": 1})})
    with pytest.raises(ValueError):
        ServiceSettings(max_body_bytes=0)


def test_serve_refuses_to_start_without_keys(monkeypatch, capsys):
    monkeypatch.delenv("IVUS_CODER_API_KEYS", raising=False)
    assert main(["serve", "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert "E101" in error and "--insecure-no-auth" in error and "IVUS_CODER_API_KEYS" in error


def test_serve_rejects_bad_options(capsys):
    assert main(["serve", "--workers", "0"]) == 2
    assert main(["serve", "--batch-limit", "0"]) == 2
    assert "batch_limit" in capsys.readouterr().err


def children_of(pid: int) -> list[int]:
    """Worker processes (multiprocessing spawn children) of ``pid``, from Linux /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if b"spawn_main" in handle.read():  # a worker, not multiprocessing's tracker
                    children.append(int(entry))
    return sorted(children)


def test_two_workers_each_build_a_pipeline_and_share_metrics(tmp_path):
    """One socket per worker (SO_REUSEPORT), one pipeline per worker, metrics summed."""
    server = Server("--workers", "2", "--no-access-log", log=tmp_path / "serve.log")
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
            for _ in range(6):
                assert client.post("/v1/code", json={"text": VENOUS}).json()["codes"]["37253"] == 2
            metrics = client.get("/metrics").text
            # TCP_NODELAY on every connection: no ~40 ms delayed-ACK stall per request
            timings = []
            for _ in range(20):
                began = time.perf_counter()
                client.get("/healthz")
                timings.append(time.perf_counter() - began)
            assert statistics.median(timings) < 0.02, timings
            # a worker that dies is started again, and the port keeps answering meanwhile
            victim = children_of(server.process.pid)[0]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while (
                time.monotonic() < deadline
                and server.log.read_text(errors="replace").count("coding pipeline ready") < 3
            ):
                # new connections only: the dead worker's keep-alive connections are gone
                assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
                time.sleep(0.2)
            assert "starting it again" in server.log.read_text(errors="replace")
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
            assert client.post("/v1/code", json={"text": VENOUS}).status_code == 200
        assert 'ivus_coder_documents_total{interface="json",outcome="coded"} 6.0' in metrics
        assert 'ivus_coder_units_proposed_total{code="37253"} 12.0' in metrics
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert log.count("coding pipeline ready") == 3  # two at start, one after the restart
    assert "authentication on" in log
    assert API_KEY not in log and VENOUS[:40] not in log
