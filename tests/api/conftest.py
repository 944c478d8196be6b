"""Fixtures for the HTTP service tests: apps sharing the session's pipelines (one per linker), an
API key, and a real ``ivus-coder serve`` on a free loopback port for the browser and multi-worker
tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import KeyStore
from api.coding import Coder
from api.config import ServiceSettings
from api.service import create_app
from nlp.pipeline import DEFAULT_LINKER

API_KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def coder_of(coder) -> Callable[[str], Coder]:
    """``coder_of(linker)``: the session's coder with that linker, built on first use (the apps'
    runtimes call it on their coding thread; the tests never code on two threads at once)."""
    coders = {coder.linker: coder}

    def build(linker: str) -> Coder:
        if linker not in coders:
            coders[linker] = Coder.with_linker(linker)
        return coders[linker]

    return build


@pytest.fixture(scope="session")
def make_app(coder_of) -> Callable[..., FastAPI]:
    """``make_app(**settings)``: a service on the session's pipelines, accepting
    :data:`API_KEY`."""

    def make(**settings: object) -> FastAPI:
        service_settings = ServiceSettings(**settings)
        return create_app(
            service_settings,
            coder=coder_of(service_settings.linker or DEFAULT_LINKER),
            factory=coder_of,
            keys=KeyStore.from_keys([API_KEY]),
        )

    return make


@pytest.fixture(scope="module")
def client(make_app) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``ivus-coder serve`` in a subprocess, on a free loopback port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-c",
            "import sys; from api.cli import main; sys.exit(main())",
            "serve",
            "--port",
            str(self.port),
            *args,
        ]
        environment = {**os.environ, "IVUS_CODER_API_KEYS": API_KEY, **(env or {})}
        environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready: {self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[Server]:
    """One worker, authentication on (key :data:`API_KEY`)."""
    server = Server(log=tmp_path_factory.mktemp("server") / "serve.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
