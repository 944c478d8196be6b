"""Coding one document: check it is text, extract the facts, code the encounter.

Shared by the command line, the HTTP service and the evaluation harness, so that all of them
give the same result for the same text, policy and settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nlp.pipeline import Extractor
from rules_core import CodingSettings, Facts, code_encounter, load_policies
from rules_core.errors import DocumentError, IvusCoderError

MAX_DOCUMENT_CHARS = 1_000_000
_CONTROL = {chr(c) for c in range(32)} - {"\n", "\r", "\t", "\f", "\v"}


def decode_document(raw: bytes, document_id: str) -> str:
    """UTF-8 text of a document's bytes (a BOM is dropped); E012/E013 when it is not text."""
    if b"\x00" in raw:
        raise DocumentError("E013", doc=document_id)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError("E012", doc=document_id) from exc
    return text


def check_text(text: str, document_id: str, limit: int = MAX_DOCUMENT_CHARS) -> str:
    """Refuse empty (E011), binary-looking (E013) or oversized (E018) text."""
    if not text.strip():
        raise DocumentError("E011", doc=document_id)
    if len(text) > limit:
        raise DocumentError("E018", doc=document_id, size=len(text), limit=limit)
    sample = text[:4096]
    if "\x00" in sample or sum(ch in _CONTROL for ch in sample) > max(8, len(sample) // 100):
        raise DocumentError("E013", doc=document_id)
    return text


def error_record(document_id: str | None, error: IvusCoderError) -> dict[str, Any]:
    """The record a failed document leaves in a batch: its id and a coded, safe message."""
    return {"document_id": document_id, "error": {"code": error.code, "message": error.detail}}


@dataclass(frozen=True, slots=True)
class Coded:
    facts: Facts
    result: dict[str, Any]


class Coder:
    """One pipeline, reused for every document (build one per process)."""

    def __init__(self, extractor: Extractor | None = None) -> None:
        self.extractor = extractor or Extractor()
        self.policies = load_policies()

    @classmethod
    def with_linker(cls, linker: str | None = None) -> Coder:
        """A coder whose pipeline uses ``linker`` (rules, model, hybrid; None: the default)."""
        return cls(Extractor(linker=linker))

    @property
    def linker(self) -> str:
        """The vessel linker of this coder's pipeline."""
        return self.extractor.linker

    def settings(
        self, documentation: str | None = None, mue_37253: int | None = None
    ) -> CodingSettings:
        return self.policies.settings(documentation, mue_37253)

    def code_facts(
        self,
        text: str,
        *,
        document_id: str | None = None,
        policy: str | None = None,
        settings: CodingSettings | None = None,
    ) -> Coded:
        """Facts and result of one document (raises :class:`IvusCoderError` on bad input)."""
        check_text(text, document_id or "-")
        chosen = self.policies.get(policy)
        facts = self.extractor.extract(text)
        result = code_encounter(facts, chosen.name, settings, document_id).to_dict()
        return Coded(facts, result)

    def code(
        self,
        text: str,
        *,
        document_id: str | None = None,
        policy: str | None = None,
        settings: CodingSettings | None = None,
    ) -> dict[str, Any]:
        """The result contract for one document, or its error record."""
        try:
            return self.code_facts(
                text, document_id=document_id, policy=policy, settings=settings
            ).result
        except DocumentError as exc:
            return error_record(document_id, exc)
