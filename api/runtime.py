"""The coding pipelines of one worker process (one per vessel linker), used by one thread only.

medspaCy pipelines are not thread-safe (DESIGN.md pitfalls), so every pipeline is built, and every
document coded, on a single dedicated thread: a one-thread executor whose queue is the order in
which requests are served. The event loop never blocks on coding, so ``/healthz``, ``/readyz``
and ``/metrics`` answer while a note is being coded, and requests that arrive while the pipeline
is still being built simply wait in that queue behind the build.

The default linker's pipeline is built at start-up (``/readyz`` is ready once it is). The
pipeline of another linker (``rules``, ``model``, ``hybrid``: :data:`nlp.pipeline.LINKERS`) is
built on the same thread when a request first asks for it, so that request waits for the build
(and the requests queued behind it too); it is then kept for the life of the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from models.errors import ModelFileError
from nlp.pipeline import DEFAULT_LINKER, LINKERS
from rules_core import CodingSettings

from .coding import Coded, Coder
from .problems import Problem

log = logging.getLogger("ivus_coder.runtime")
T = TypeVar("T")


class CoderRuntime:
    """The process's :class:`Coder` per linker, and the single thread that uses them.

    ``coder``: a built coder to use for its own linker (tests); ``factory(linker)`` builds the
    others; ``default_linker`` serves requests that name no linker (None: the pipeline's
    default, :data:`nlp.pipeline.DEFAULT_LINKER`)."""

    def __init__(
        self,
        coder: Coder | None = None,
        factory: Callable[[str], Coder] = Coder.with_linker,
        default_linker: str | None = None,
    ) -> None:
        self.default_linker = default_linker or DEFAULT_LINKER
        if self.default_linker not in LINKERS:
            raise ModelFileError("E205", mode=self.default_linker, known=list(LINKERS))
        self.factory = factory
        self.coders: dict[str, Coder] = {}
        self.build_errors: dict[str, str] = {}
        self.build_times: dict[str, float] = {}
        if coder is not None:
            self.coders[coder.linker] = coder
        self._executor: ThreadPoolExecutor | None = None
        self._build: Future[Any] | None = None

    # The default linker's pipeline: what /readyz reports.
    @property
    def coder(self) -> Coder | None:
        return self.coders.get(self.default_linker)

    @property
    def ready(self) -> bool:
        return self.default_linker in self.coders

    @property
    def build_error(self) -> str | None:
        return self.build_errors.get(self.default_linker)

    @property
    def build_seconds(self) -> float | None:
        return self.build_times.get(self.default_linker)

    @property
    def built(self) -> list[str]:
        """The linkers whose pipeline is built, in :data:`LINKERS` order."""
        return [mode for mode in LINKERS if mode in self.coders]

    def start(self) -> ThreadPoolExecutor:
        """Start the coding thread and queue the default pipeline's build (idempotent; no build
        when it was given). A closed runtime starts again (an app may be started twice)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivus-coder")
            self._build = None
            self.build_errors.clear()  # a restart tries a failed build again
        if not self.ready and self._build is None:
            self._build = self._executor.submit(self._build_coder, self.default_linker)
        return self._executor

    def _build_coder(self, linker: str) -> Coder | None:
        """Build the pipeline of ``linker`` (on the coding thread); None when it failed, with the
        reason in :attr:`build_errors` (the service stays up and says so)."""
        if linker in self.coders or linker in self.build_errors:
            return self.coders.get(linker)
        started = time.perf_counter()
        try:
            coder = self.factory(linker)
        except Exception as exc:
            self.build_errors[linker] = f"{type(exc).__name__}: {exc}"
            log.error(
                "coding pipeline (linker %s) could not be built: %s",
                linker,
                self.build_errors[linker],
            )
            return None
        seconds = time.perf_counter() - started
        self.coders[linker] = coder
        self.build_times[linker] = seconds
        if linker == self.default_linker:
            log.info("coding pipeline ready in %.2f s (linker %s, the default)", seconds, linker)
        else:
            log.info(
                "linker %s: its coding pipeline was built on first use in %.2f s", linker, seconds
            )
        return coder

    def _coder_for(self, linker: str | None) -> Coder:
        """The coder of ``linker`` (None: the default), built now if this is its first use."""
        mode = linker or self.default_linker
        if mode not in LINKERS:
            raise ModelFileError("E205", mode=mode, known=list(LINKERS))
        coder = self._build_coder(mode)
        if coder is None:
            which = "The coding pipeline" if mode == self.default_linker else f"The {mode} linker"
            raise Problem(
                "not-ready",
                f"{which} failed to build; see the server log.",
                headers={"Retry-After": "30"},
            )
        return coder

    async def run(self, func: Callable[..., T], linker: str | None, *args: Any) -> T:
        """Run ``func(coder, *args)`` on the coding thread, with the coder of ``linker``."""
        executor = self.start()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, self._call, func, linker, args)

    def _call(self, func: Callable[..., T], linker: str | None, args: tuple[Any, ...]) -> T:
        return func(self._coder_for(linker), *args)

    async def code(
        self,
        text: str,
        document_id: str | None,
        policy: str | None,
        settings: CodingSettings | None,
        linker: str | None = None,
    ) -> tuple[Coded, float]:
        """Facts and result of one document, and the seconds the pipeline spent on it (a first
        use's pipeline build not included)."""
        return await self.run(_code_timed, linker, text, document_id, policy, settings)

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
