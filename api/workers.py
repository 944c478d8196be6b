"""Several uvicorn worker processes on one port, each with its own listening socket
(``SO_REUSEPORT``), so that the kernel spreads connections evenly over the workers.

uvicorn's own ``--workers`` shares one listening socket: whichever worker wakes first accepts
every pending connection, so a client pool that opens its keep-alive connections at once ends
up on one worker while the other idles (measured here: 58 requests/s from 32 clients on 2
workers, about half of what two pipelines do). With one socket per worker the kernel hashes
each new connection to a worker. Each worker builds its own pipelines (:mod:`api.runtime`); a
worker that dies is started again. Linux and the BSDs have ``SO_REUSEPORT``; elsewhere
``ivus-coder serve`` falls back to uvicorn's workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from typing import Any

log = logging.getLogger("ivus_coder.workers")
BACKLOG = 2048


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int, listen: bool = True) -> socket.socket:
    """A TCP socket on host:port that other processes may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on the accepted connections
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(BACKLOG)
    sock.set_inheritable(False)
    return sock


def _worker(config: dict[str, Any], host: str, port: int) -> None:
    """One worker process: its own socket, its own uvicorn server (and so its own pipeline)."""
    import uvicorn

    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(**config))
    server.run(sockets=[sock])


def run_workers(count: int, config: dict[str, Any], host: str, port: int) -> int:
    """Start ``count`` workers and supervise them until SIGINT/SIGTERM; restart any that dies."""
    reservation = bind(host, port, listen=False)  # fails now, clearly, if the port is taken
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(index: int) -> Any:
        process = context.Process(
            target=_worker, args=(config, host, port), name=f"ivus-coder-worker-{index}"
        )
        process.start()
        return process

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start(i) for i in range(count)]
    log.info("started %d workers on %s:%d (one socket each, SO_REUSEPORT)", count, host, port)
    started = [time.monotonic()] * count
    quick_failures = 0
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if time.monotonic() - started[index] < 10:
                    quick_failures += 1
                if quick_failures >= 5:
                    log.error("workers keep exiting at start-up; stopping (see the log above)")
                    stopping, status = True, 1
                    break
                log.warning("worker %d exited with %s; starting it again", index, process.exitcode)
                processes[index] = start(index)
                started[index] = time.monotonic()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        reservation.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
