"""Build a note and its facts by hand, for testing the coder without the extractor."""

from __future__ import annotations

from dataclasses import dataclass, field

from rules_core import (
    Assertion,
    Extent,
    ExtentKind,
    Facts,
    Finding,
    IvusMention,
    Link,
    MentionKind,
    Modality,
    Procedure,
    Span,
    StatedCount,
    VesselMention,
)


@dataclass
class NoteBuilder:
    parts: list[str] = field(default_factory=list)
    ivus_: list[IvusMention] = field(default_factory=list)
    vessels: list[VesselMention] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    extents: list[Extent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    modalities: list[Modality] = field(default_factory=list)
    counts: list[StatedCount] = field(default_factory=list)

    def _span(self, words: str) -> Span:
        start = sum(len(p) for p in self.parts)
        self.parts.append(words)
        return Span(start, start + len(words), words)

    def text(self, words: str) -> NoteBuilder:
        self.parts.append(words)
        return self

    def ivus(self, words: str = "IVUS", assertion: Assertion = Assertion.AFFIRMED) -> str:
        mid = f"i{len(self.ivus_) + 1}"
        self.ivus_.append(IvusMention(mid, self._span(words), assertion))
        self.parts.append(" ")
        return mid

    def vessel(
        self,
        words: str,
        *candidates: str,
        side: str | None = None,
        by: tuple[str, ...] = (),
        kind: MentionKind = MentionKind.VESSEL,
        plural: bool = False,
        system_hint: str | None = None,
    ) -> str:
        vid = f"v{len(self.vessels) + 1}"
        self.vessels.append(
            VesselMention(
                vid,
                self._span(words),
                kind,
                candidates,
                side=side,
                plural=plural,
                system_hint=system_hint,
            )  # type: ignore[arg-type]
        )
        self.parts.append(" ")
        for ivus_id in by:
            self.links.append(Link(ivus_id, vid, "test"))
        return vid

    def finding(self, words: str, *of: str, kind: str = "area") -> str:
        fid = f"f{len(self.findings) + 1}"
        self.findings.append(Finding(fid, self._span(words), kind, tuple(of)))
        self.parts.append(" ")
        return fid

    def extent(self, first: str, second: str, kind: ExtentKind) -> str:
        xid = f"x{len(self.extents) + 1}"
        spans = {v.id: v.span for v in self.vessels}
        a, b = spans[first], spans[second]
        self.extents.append(
            Extent(
                xid, Span(a.start, b.end, "".join(self.parts)[a.start : b.end]), kind, first, second
            )
        )
        return xid

    def procedure(self, words: str, kind: str, assertion: Assertion = Assertion.AFFIRMED) -> str:
        pid = f"p{len(self.procedures) + 1}"
        self.procedures.append(Procedure(pid, self._span(words), kind, assertion))
        self.parts.append(" ")
        return pid

    def modality(self, words: str, kind: str) -> str:
        mid = f"m{len(self.modalities) + 1}"
        self.modalities.append(Modality(mid, self._span(words), kind))
        self.parts.append(" ")
        return mid

    def stated(self, words: str, count: int) -> None:
        self.counts.append(StatedCount(self._span(words), count))
        self.parts.append(" ")

    @property
    def note(self) -> str:
        return "".join(self.parts)

    def facts(self, document_system: str | None = None) -> Facts:
        return Facts(
            text_length=len(self.note),
            ivus=tuple(self.ivus_),
            vessels=tuple(self.vessels),
            links=tuple(self.links),
            extents=tuple(self.extents),
            findings=tuple(self.findings),
            procedures=tuple(self.procedures),
            modalities=tuple(self.modalities),
            stated_counts=tuple(self.counts),
            document_system=document_system,  # type: ignore[arg-type]
            extractor_version="test",
        )
