"""From the pipeline's state to the typed facts ``rules_core`` consumes, in character offsets."""

from __future__ import annotations

from spacy.tokens import Doc

from rules_core.types import (
    Assertion,
    Extent,
    ExtentKind,
    Facts,
    Finding,
    IvusMention,
    Link,
    MentionKind,
    Modality,
    Pathology,
    Procedure,
    SetAside,
    Span,
    StatedCount,
    VesselMention,
)

from .rules_io import extractor_version
from .state import State, Target, state_of


def doc_to_facts(doc: Doc, text: str | None = None) -> Facts:
    """The facts of one processed document; span texts come from ``text`` (the original note,
    which may differ from ``doc.text`` in joined line breaks only) when given."""
    source = doc.text if text is None else text

    def _span(doc: Doc, start: int, end: int) -> Span:
        span = doc[start:end]
        return Span(span.start_char, span.end_char, source[span.start_char : span.end_char])

    def _cue(doc: Doc, target: Target) -> Span | None:
        return _span(doc, *target.cue) if target.cue else None

    state: State = state_of(doc)
    ivus_sents = {state.sent_of[t.start] for t in state.ivus if t.assertion == "affirmed"}
    set_aside = tuple(
        SetAside(m.id, m.role)
        for m in state.vessels
        if m.role != "named" and state.sent_of[m.start] in ivus_sents
    )
    return Facts(
        text_length=len(source),
        ivus=tuple(
            IvusMention(
                t.id,
                _span(doc, t.start, t.end),
                Assertion(t.assertion),
                _cue(doc, t),
                state.section_of[t.start],
            )
            for t in state.ivus
        ),
        vessels=tuple(
            VesselMention(
                id=m.id,
                span=_span(doc, m.start, m.end),
                kind=MentionKind(m.kind),
                candidates=m.candidates,
                side=m.side,  # type: ignore[arg-type]
                system=m.system,  # type: ignore[arg-type]
                system_hint=m.system_hint,  # type: ignore[arg-type]
                plural=m.plural,
                side_inherited=m.side_inherited,
                role=m.role,
            )
            for m in state.vessels
        ),
        links=tuple(Link(ivus, vessel, basis) for ivus, vessel, basis in state.links),
        extents=tuple(
            Extent(
                e.id, _span(doc, e.start, e.end), ExtentKind(e.kind), e.first, e.second, e.pathology
            )
            for e in state.extents
        ),
        pathologies=tuple(
            Pathology(p.id, _span(doc, p.start, p.end), p.kind) for p in state.pathologies
        ),
        findings=tuple(
            Finding(f.id, _span(doc, f.start, f.end), f.kind, tuple(state.ivus_findings[f.id]))
            for f in state.findings
            if f.id in state.ivus_findings
        ),
        procedures=tuple(
            Procedure(p.id, _span(doc, p.start, p.end), p.kind, Assertion(p.assertion))
            for p in state.procedures
        ),
        modalities=tuple(
            Modality(m.id, _span(doc, m.start, m.end), m.kind, Assertion(m.assertion))
            for m in state.modalities
        ),
        stated_counts=tuple(
            StatedCount(_span(doc, start, end), count) for start, end, count in state.stated_counts
        ),
        set_aside=set_aside,
        document_system=state.document_system,  # type: ignore[arg-type]
        extractor_version=extractor_version(),
    )
