"""Vessel normalization: a vessel mention becomes canonical, sided vessel ids.

RULEBOOK 3: left and right are different vessels and "bilateral X" is two vessels (SMD); a
paired vessel without a side is kept once without a side (flagged by the coder); regional words
resolve to their member vessels; a generic name ("iliac vein") stays generic and is later
absorbed by a specific vessel of its family on the same side. Words that name the system ("CIV",
"... vein") win over the context's hint; the hint wins over the document's prevailing system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ontology import Ontology
from .types import MentionKind, System, VesselMention

SideValue = Literal["left", "right"]


@dataclass(frozen=True, slots=True)
class Vessel:
    """One canonical vessel a mention denotes (``id`` carries the side when it has one)."""

    id: str
    base: str
    side: SideValue | None
    system: str
    generic: bool
    coronary: bool
    mention: str


@dataclass(frozen=True, slots=True)
class Normalized:
    vessels: tuple[Vessel, ...]
    system_unknown: bool = False


def _sides(paired: bool, side: str | None, plural: bool, unsided: str = "missing") -> list:
    if not paired:
        return [None]
    if side == "bilateral":
        return ["left", "right"]
    if side in ("left", "right"):
        return [side]
    if plural or unsided == "bilateral":
        return ["left", "right"]
    return [None]


def _vessel(ontology: Ontology, base: str, side: str | None, mention: str) -> Vessel:
    return Vessel(
        id=f"{base}.{side}" if side else base,
        base=base,
        side=side,  # type: ignore[arg-type]
        system=ontology.system_of(base),
        generic=base in ontology.generics,
        coronary=False,
        mention=mention,
    )


def choose_system(
    mention: VesselMention, systems: list[str], document_system: System | None
) -> tuple[str, bool]:
    """Pick the system for a mention whose words fit ``systems``; True when it was a guess."""
    if len(systems) == 1:
        return systems[0], False
    for preferred in (mention.system, mention.system_hint, document_system):
        if preferred in systems:
            return preferred, False  # type: ignore[return-value]
    return sorted(systems)[0], True


def normalize_mention(
    mention: VesselMention, ontology: Ontology, document_system: System | None = None
) -> Normalized:
    """Canonical vessels for one mention (RULEBOOK 3, 3.1)."""
    if mention.kind is MentionKind.CORONARY:
        base = mention.candidates[0]
        return Normalized((Vessel(base, base, None, "coronary", False, True, mention.id),))
    if mention.kind is MentionKind.REGION:
        region = ontology.regions[mention.candidates[0]]
        system, guessed = choose_system(mention, sorted(region.members), document_system)
        out = [
            _vessel(ontology, base, side, mention.id)
            for base in region.members[system]  # type: ignore[index]
            for side in _sides(ontology.is_paired(base), mention.side, False, region.unsided)
        ]
        return Normalized(tuple(out), guessed)
    by_system: dict[str, str] = {}
    for cand in mention.candidates:
        by_system.setdefault(ontology.system_of(cand), cand)
    system, guessed = choose_system(mention, sorted(by_system), document_system)
    base = by_system[system]
    sides = _sides(ontology.is_paired(base), mention.side, mention.plural)
    return Normalized(tuple(_vessel(ontology, base, side, mention.id) for side in sides), guessed)


def expand_path(
    ontology: Ontology, start: Vessel, end: Vessel, mention: str
) -> list[Vessel] | None:
    """Vessels an extent from ``start`` to ``end`` spans, ends included (flow-path adjacency)."""
    path = ontology.path_between(start.base, start.side, end.base, end.side)
    if path is None:
        return None
    return [_vessel(ontology, base, side, mention) for base, side in path]
