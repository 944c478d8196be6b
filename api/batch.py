"""Coding a batch in input order, in one process or in N worker processes.

Each worker builds its own pipeline once (medspaCy pipelines cannot be pickled or shared, and
PyRuSH-style components are not thread-safe: DESIGN.md pitfalls) and returns plain result
dicts, never spaCy objects. Unreadable documents never reach a worker: their error records are
emitted in place.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from typing import Any

from rules_core import CodingSettings

from .coding import Coder, error_record
from .inputs import InputDocument

_worker_coder: Coder | None = None


def _init_worker(linker: str | None = None) -> None:
    global _worker_coder
    _worker_coder = Coder.with_linker(linker)


def _code_in_worker(job: tuple[str, str, str | None, CodingSettings]) -> dict[str, Any]:
    doc_id, text, policy, settings = job
    assert _worker_coder is not None
    return _worker_coder.code(text, document_id=doc_id, policy=policy, settings=settings)


def code_batch(
    documents: Iterable[InputDocument],
    *,
    policy: str | None,
    settings: CodingSettings,
    workers: int = 1,
    coder: Coder | None = None,
    linker: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Results (or error records) for ``documents``, in their order. ``linker`` (rules, model,
    hybrid; default: the pipeline's default) is the linker of the workers' pipelines."""
    if workers <= 1:
        local = coder or Coder()
        for doc in documents:
            if doc.error is not None:
                yield error_record(doc.id, doc.error)
            else:
                yield local.code(
                    doc.text or "", document_id=doc.id, policy=policy, settings=settings
                )
        return
    context = multiprocessing.get_context("spawn")
    errors: dict[int, dict[str, Any]] = {}

    def jobs() -> Iterator[tuple[str, str, str | None, CodingSettings]]:
        for index, doc in enumerate(documents):
            if doc.error is not None:
                errors[index] = error_record(doc.id, doc.error)
                yield ("", "", None, settings)  # placeholder keeps the order; result replaced
            else:
                yield (doc.id, doc.text or "", policy, settings)

    with context.Pool(workers, initializer=_init_worker, initargs=(linker,)) as pool:
        for index, result in enumerate(pool.imap(_code_in_worker, jobs(), chunksize=4)):
            yield errors.pop(index, result)
