"""One coding pipeline per worker process, used by one thread only.

medspaCy pipelines are not thread-safe (DESIGN.md pitfalls), so the pipeline is built, and every
document coded, on a single dedicated thread: a one-thread executor whose queue is the order in
which requests are served. The event loop never blocks on coding, so ``/healthz``, ``/readyz``
and ``/metrics`` answer while a note is being coded, and requests that arrive while the pipeline
is still being built simply wait in that queue behind the build.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from rules_core import CodingSettings

from .coding import Coded, Coder
from .problems import Problem

log = logging.getLogger("ivus_coder.runtime")
T = TypeVar("T")


class CoderRuntime:
    """The process's :class:`Coder` and the single thread that uses it."""

    def __init__(self, coder: Coder | None = None, factory: Callable[[], Coder] = Coder) -> None:
        self.coder = coder
        self.factory = factory
        self.build_error: str | None = None
        self.build_seconds: float | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._build: Future[None] | None = None

    @property
    def ready(self) -> bool:
        return self.coder is not None

    def start(self) -> ThreadPoolExecutor:
        """Start the coding thread and queue the pipeline build (idempotent; no build when a
        coder was given). A closed runtime starts again (an app may be started twice)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivus-coder")
            self._build = None
        if self.coder is None and self._build is None:
            self._build = self._executor.submit(self._build_coder)
        return self._executor

    def _build_coder(self) -> None:
        started = time.perf_counter()
        try:
            self.coder = self.factory()
        except Exception as exc:  # the service stays up and reports not-ready with the reason
            self.build_error = f"{type(exc).__name__}: {exc}"
            log.error("coding pipeline could not be built: %s", self.build_error)
            return
        self.build_seconds = time.perf_counter() - started
        log.info("coding pipeline ready in %.2f s", self.build_seconds)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(coder, *args)`` on the coding thread."""
        executor = self.start()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, self._call, func, args)

    def _call(self, func: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self.coder is None:
            raise Problem(
                "not-ready",
                "The coding pipeline failed to build; see the server log.",
                headers={"Retry-After": "30"},
            )
        return func(self.coder, *args)

    async def code(
        self,
        text: str,
        document_id: str | None,
        policy: str | None,
        settings: CodingSettings | None,
    ) -> tuple[Coded, float]:
        """Facts and result of one document, and the seconds the pipeline spent on it."""
        return await self.run(_code_timed, text, document_id, policy, settings)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _code_timed(
    coder: Coder,
    text: str,
    document_id: str | None,
    policy: str | None,
    settings: CodingSettings | None,
) -> tuple[Coded, float]:
    started = time.perf_counter()
    coded = coder.code_facts(text, document_id=document_id, policy=policy, settings=settings)
    return coded, time.perf_counter() - started
