"""The typed facts the extractor hands to the coder, and the coder's result.

Facts carry character offsets into the original note. They are plain frozen dataclasses with no
spaCy objects, so they cross process boundaries and are easy to build by hand in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from .errors import IvusCoderError

Side = Literal["left", "right", "bilateral"]
System = Literal["artery", "vein"]


class Assertion(StrEnum):
    """Whether an IVUS statement (or a procedure) describes imaging done in this encounter.

    RULEBOOK 5: only affirmed IVUS counts; negated, planned/hypothetical, historical and
    attempted-without-images IVUS is excluded with that reason.
    """

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HYPOTHETICAL = "hypothetical"
    HISTORICAL = "historical"
    NO_IMAGES = "attempted-no-images"


class MentionKind(StrEnum):
    VESSEL = "vessel"
    GENERIC = "generic"
    CORONARY = "coronary"
    REGION = "region"


class ExtentKind(StrEnum):
    """``lesion``: one continuous pathology across vessels (RULEBOOK 3.2, merges them);
    ``imaging``: an IVUS run or pullback from X to Y; ``treatment``: a stent or balloon span."""

    LESION = "lesion"
    IMAGING = "imaging"
    TREATMENT = "treatment"


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str

    def to_dict(self, role: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "text": self.text}
        if role is not None:
            out = {"role": role, **out}
        return out


@dataclass(frozen=True, slots=True)
class IvusMention:
    """A statement that intravascular ultrasound was (or was not) used."""

    id: str
    span: Span
    assertion: Assertion = Assertion.AFFIRMED
    cue: Span | None = None
    section: str | None = None


@dataclass(frozen=True, slots=True)
class VesselMention:
    """Words naming a vessel, a generic vessel, a coronary vessel or a region.

    ``candidates`` are ontology ids (without side) the words may denote; ``system_hint`` is the
    system the surrounding words point to; ``side`` the side the words give (``bilateral`` for
    "bilateral X" or "both X").
    """

    id: str
    span: Span
    kind: MentionKind
    candidates: tuple[str, ...]
    side: Side | None = None
    system: System | None = None
    system_hint: System | None = None
    plural: bool = False
    side_inherited: bool = False
    role: str = "named"


@dataclass(frozen=True, slots=True)
class SetAside:
    """A vessel mention next to an IVUS statement that the linker did not link, and why
    (``access``, ``landmark``, ``transit``)."""

    vessel: str
    reason: str


@dataclass(frozen=True, slots=True)
class Extent:
    """An anatomic extent from one vessel mention to another (RULEBOOK 3.2, 5)."""

    id: str
    span: Span
    kind: ExtentKind
    start_vessel: str
    end_vessel: str
    pathology: str | None = None


@dataclass(frozen=True, slots=True)
class Pathology:
    id: str
    span: Span
    kind: str


@dataclass(frozen=True, slots=True)
class Finding:
    """An IVUS finding (area, diameter, percent reduction, apposition, expansion...) and the
    vessel mentions it is attributed to."""

    id: str
    span: Span
    kind: str
    vessels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure the note documents: a primary service (angiography, venography,
    catheterization, intervention) or one that includes IVUS (IVC filter, foreign body)."""

    id: str
    span: Span
    kind: str
    assertion: Assertion = Assertion.AFFIRMED


@dataclass(frozen=True, slots=True)
class Modality:
    """A non-IVUS modality that dictation confuses with IVUS (ICE, OCT, duplex, ...)."""

    id: str
    span: Span
    kind: str
    assertion: Assertion = Assertion.AFFIRMED


@dataclass(frozen=True, slots=True)
class Link:
    """IVUS mention ``ivus`` examined vessel mention ``vessel``; ``basis`` says why."""

    ivus: str
    vessel: str
    basis: str


@dataclass(frozen=True, slots=True)
class StatedCount:
    """A stated number of vessels imaged ("IVUS, 3 vessels")."""

    span: Span
    count: int


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the extractor found in one note."""

    text_length: int
    ivus: tuple[IvusMention, ...] = ()
    vessels: tuple[VesselMention, ...] = ()
    links: tuple[Link, ...] = ()
    extents: tuple[Extent, ...] = ()
    pathologies: tuple[Pathology, ...] = ()
    findings: tuple[Finding, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    modalities: tuple[Modality, ...] = ()
    stated_counts: tuple[StatedCount, ...] = ()
    set_aside: tuple[SetAside, ...] = ()
    document_system: System | None = None
    extractor_version: str = "none"

    def validate(self) -> None:
        """Check ids are unique, references resolve and spans lie inside the text (E007-E009)."""
        seen: set[str] = set()
        groups: list[tuple[str, tuple[Any, ...]]] = [
            ("ivus", self.ivus),
            ("vessel", self.vessels),
            ("extent", self.extents),
            ("pathology", self.pathologies),
            ("finding", self.findings),
            ("procedure", self.procedures),
            ("modality", self.modalities),
        ]
        for kind, items in groups:
            for item in items:
                if item.id in seen:
                    raise IvusCoderError("E007", id=item.id, where="facts")
                seen.add(item.id)
                span = item.span
                if not 0 <= span.start <= span.end <= self.text_length:
                    raise IvusCoderError(
                        "E009",
                        start=span.start,
                        end=span.end,
                        kind=kind,
                        id=item.id,
                        length=self.text_length,
                    )
        ivus_ids = {m.id for m in self.ivus}
        vessel_ids = {m.id for m in self.vessels}
        for link in self.links:
            if link.ivus not in ivus_ids:
                raise IvusCoderError(
                    "E008", kind="link", id=link.vessel, ref_kind="ivus", ref=link.ivus
                )
            if link.vessel not in vessel_ids:
                raise IvusCoderError(
                    "E008", kind="link", id=link.ivus, ref_kind="vessel", ref=link.vessel
                )
        for extent in self.extents:
            for ref in (extent.start_vessel, extent.end_vessel):
                if ref not in vessel_ids:
                    raise IvusCoderError(
                        "E008", kind="extent", id=extent.id, ref_kind="vessel", ref=ref
                    )
        for aside in self.set_aside:
            if aside.vessel not in vessel_ids:
                raise IvusCoderError(
                    "E008", kind="set-aside", id=aside.reason, ref_kind="vessel", ref=aside.vessel
                )
        for finding in self.findings:
            for ref in finding.vessels:
                if ref not in vessel_ids:
                    raise IvusCoderError(
                        "E008", kind="finding", id=finding.id, ref_kind="vessel", ref=ref
                    )


@dataclass(slots=True)
class CodingResult:
    """The result contract of DESIGN.md; ``to_dict`` gives its JSON form."""

    document_id: str | None
    policy: str
    ruleset_version: str
    settings: dict[str, Any]
    codes: dict[str, int]
    units: list[dict[str, Any]] = field(default_factory=list)
    vessels: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "policy": self.policy,
            "ruleset_version": self.ruleset_version,
            "settings": self.settings,
            "codes": self.codes,
            "units": self.units,
            "vessels": self.vessels,
            "excluded": self.excluded,
            "suppressed": self.suppressed,
            "flags": self.flags,
        }
