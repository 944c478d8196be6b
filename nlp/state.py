"""What the pipeline components find, kept on ``doc._.ivus`` between components.

Token offsets here; character offsets are computed once when the facts are made
(:mod:`nlp.facts`). Nothing in this state holds a spaCy object but the Doc itself, so a worker
process returns only the plain facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spacy.tokens import Doc


@dataclass(slots=True)
class Target:
    """A matched IVUS, finding, pathology, procedure or non-IVUS modality span."""

    id: str
    label: str
    start: int
    end: int
    kind: str = ""
    assertion: str = "affirmed"
    cue: tuple[int, int] | None = None


@dataclass(slots=True)
class VMention:
    """A vessel mention with what the resolver learned about it."""

    id: str
    start: int
    end: int
    kind: str
    candidates: tuple[str, ...]
    system: str | None
    plural: bool
    side: str | None = None
    side_inherited: bool = False
    system_hint: str | None = None
    role: str = "named"  # named | access | landmark | transit
    coordinated: bool = False


@dataclass(slots=True)
class XExtent:
    id: str
    start: int
    end: int
    kind: str
    first: str
    second: str
    pathology: str | None = None


@dataclass(slots=True)
class State:
    """Everything found in one document."""

    lower: list[str] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)
    sent_of: list[int] = field(default_factory=list)
    clause_of: list[int] = field(default_factory=list)
    segment_of: list[int] = field(default_factory=list)
    paragraph_of_sent: list[int] = field(default_factory=list)
    units: list[tuple[int, int]] = field(default_factory=list)
    unit_of: list[int] = field(default_factory=list)
    paragraph_of_unit: list[int] = field(default_factory=list)
    section_of: list[str | None] = field(default_factory=list)
    ivus: list[Target] = field(default_factory=list)
    findings: list[Target] = field(default_factory=list)
    pathologies: list[Target] = field(default_factory=list)
    procedures: list[Target] = field(default_factory=list)
    modalities: list[Target] = field(default_factory=list)
    vessels: list[VMention] = field(default_factory=list)
    extents: list[XExtent] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)
    ivus_findings: dict[str, list[str]] = field(default_factory=dict)
    stated_counts: list[tuple[int, int, int]] = field(default_factory=list)
    document_system: str | None = None

    def in_sentence(self, items: list, sent: int) -> list:
        """Items whose first token lies in sentence ``sent``."""
        return [item for item in items if self.sent_of[item.start] == sent]


if not Doc.has_extension("ivus"):
    Doc.set_extension("ivus", default=None)


def state_of(doc: Doc) -> State:
    """The document's state, created on first use."""
    state = doc._.ivus
    if state is None:
        state = State()
        doc._.ivus = state
    return state
