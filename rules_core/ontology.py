"""The vessel ontology: one data file (``data/vessels.json``), validated at load.

It defines every noncoronary vessel a procedure note names (a stable dotted id, its system, whether
it is paired), the generic names that stand for one unspecified member of a family ("iliac vein"),
the coronary exclusion list (RULEBOOK 2: coronary IVUS is 92978/92979), the regional words
("iliofemoral", "aortobifemoral") and the adjacency along the flow path, from which an extent
"from the popliteal vein to the IVC" resolves to the vessels it spans.

The surface forms the extractor matches are *derived* here from the table (names × system nouns,
abbreviations, side-prefixed compact abbreviations), so that one fact lives in one place.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import RuleFileError

System = Literal["artery", "vein"]
SideValue = Literal["left", "right"]
TermKind = Literal["vessel", "generic", "coronary", "region"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VesselEntry(_Strict):
    id: str = Field(pattern=r"^(artery|vein)\.[a-z_]+$")
    system: System
    paired: bool
    label: str
    territory: str
    side_branch: bool = False
    names: tuple[str, ...] = ()
    bare: bool = False
    terms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    abbreviations_any_case: tuple[str, ...] = ()


class GenericEntry(_Strict):
    id: str = Field(pattern=r"^(artery|vein)\.[a-z_]+$")
    system: System
    paired: bool
    label: str
    names: tuple[str, ...]
    bare: bool = False
    covers: tuple[str, ...]


class CoronaryEntry(_Strict):
    id: str = Field(pattern=r"^coronary\.[a-z_]+$")
    label: str
    terms: tuple[str, ...]


class RegionEntry(_Strict):
    id: str = Field(pattern=r"^region\.[a-z_]+$")
    terms: tuple[str, ...]
    members: dict[System, tuple[str, ...]]
    unsided: Literal["missing", "bilateral"]


class CompactSidePrefix(_Strict):
    left: str
    right: str
    min_length: int = Field(ge=2)
    also: tuple[str, ...] = ()


class SidedAbbreviation(_Strict):
    vessel: str
    side: SideValue


class SystemNouns(_Strict):
    singular: tuple[str, ...]
    plural: tuple[str, ...]
    adjectives: tuple[str, ...]


class VesselFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.vessels/1$")
    version: str
    about: str
    sides: dict[Literal["left", "right", "bilateral"], tuple[str, ...]]
    side_words_exact_case: tuple[str, ...]
    side_postfix: dict[Literal["bilateral"], tuple[str, ...]]
    compact_side_prefix: CompactSidePrefix
    sided_abbreviations: dict[str, SidedAbbreviation]
    system_nouns: dict[System, SystemNouns]
    segment_qualifiers: tuple[str, ...]
    non_vessel_heads: tuple[str, ...]
    vessels: tuple[VesselEntry, ...]
    generic: tuple[GenericEntry, ...]
    coronary: tuple[CoronaryEntry, ...]
    regions: tuple[RegionEntry, ...]
    adjacency: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Term:
    """One surface form the extractor matches, and what it may denote.

    ``candidates`` holds several ids when the words fit both an artery and a vein ("common
    iliac"); ``system`` is set when the words themselves name the system ("CIV", "... vein").
    """

    text: str
    exact_case: bool
    kind: TermKind
    candidates: tuple[str, ...]
    system: System | None
    plural: bool
    side: SideValue | None = None


Node = tuple[str, SideValue | None]


def read_json_rule_file(package: str, name: str) -> tuple[dict, bytes]:
    """Read a packaged JSON rule file; raise :class:`RuleFileError` (E001) if it is not JSON."""
    path = resources.files(package).joinpath(name)
    raw = path.read_bytes()
    try:
        return json.loads(raw), raw
    except json.JSONDecodeError as exc:
        raise RuleFileError("E001", path=f"{package}/{name}", detail=str(exc)) from exc


def validate_model(model: type[BaseModel], data: dict, where: str) -> BaseModel:
    """Validate a parsed rule file against its schema model, raising E002 with the first errors."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise RuleFileError("E002", path=where, detail=detail) from exc


def _plural_of(word: str) -> str | None:
    if word == "artery":
        return "arteries"
    if word == "vein":
        return "veins"
    if word in {"trunk", "segment"}:
        return word + "s"
    return None


class Ontology:
    """The loaded vessel table with its derived term list and flow-path graph."""

    def __init__(self, data: VesselFile, raw: bytes) -> None:
        self.data = data
        self.raw = raw
        self.version = data.version
        self.vessels: dict[str, VesselEntry] = {}
        self.generics: dict[str, GenericEntry] = {}
        self.coronaries: dict[str, CoronaryEntry] = {}
        self.regions: dict[str, RegionEntry] = {}
        for table, entries in (
            (self.vessels, data.vessels),
            (self.generics, data.generic),
            (self.coronaries, data.coronary),
            (self.regions, data.regions),
        ):
            for entry in entries:
                if entry.id in self.vessels or entry.id in self.generics or entry.id in table:
                    raise RuleFileError("E007", id=entry.id, where="vessels.json")
                table[entry.id] = entry  # type: ignore[index]
        self._check_references()
        self.terms: tuple[Term, ...] = tuple(self._derive_terms())
        self._graph = self._build_graph()
        self.parents: dict[str, set[str]] = {}
        for a, b in data.adjacency:
            self.parents.setdefault(self.split_side(b)[0], set()).add(self.split_side(a)[0])

    def branch_parent(self, child: str, parent: str) -> bool:
        """Whether ``child`` is a side branch leaving ``parent`` (renal artery and aorta)."""
        entry = self.vessels.get(child)
        return bool(entry and entry.side_branch and parent in self.parents.get(child, ()))

    # --- validation -------------------------------------------------------------------------
    def _check_references(self) -> None:
        for generic in self.generics.values():
            for vid in generic.covers:
                if vid not in self.vessels:
                    raise RuleFileError("E003", vessel=vid, where=f"generic {generic.id}")
        for region in self.regions.values():
            for members in region.members.values():
                for vid in members:
                    if vid not in self.vessels:
                        raise RuleFileError("E003", vessel=vid, where=f"region {region.id}")
        for abbr, sided in self.data.sided_abbreviations.items():
            if sided.vessel not in self.vessels:
                raise RuleFileError("E003", vessel=sided.vessel, where=f"abbreviation {abbr}")
        for a, b in self.data.adjacency:
            for node in (a, b):
                base, _ = self.split_side(node)
                if base not in self.vessels:
                    raise RuleFileError("E003", vessel=node, where="adjacency")

    # --- lookups ----------------------------------------------------------------------------
    @staticmethod
    def split_side(vessel_id: str) -> tuple[str, SideValue | None]:
        """Split ``vein.common_iliac.left`` into ``("vein.common_iliac", "left")``."""
        head, _, tail = vessel_id.rpartition(".")
        if tail in ("left", "right") and head.count(".") >= 1:
            return head, tail  # type: ignore[return-value]
        return vessel_id, None

    def is_paired(self, base_id: str) -> bool:
        entry = self.vessels.get(base_id) or self.generics.get(base_id)
        return bool(entry and entry.paired)

    def system_of(self, base_id: str) -> str:
        return base_id.split(".", 1)[0]

    def label(self, vessel_id: str) -> str:
        """Readable label with side: ``left common iliac vein``."""
        base, side = self.split_side(vessel_id)
        entry = (
            self.vessels.get(base)
            or self.generics.get(base)
            or self.coronaries.get(base)
            or self.regions.get(base)
        )
        text = entry.label if entry is not None and hasattr(entry, "label") else base
        return f"{side} {text}" if side else text

    def is_known(self, vessel_id: str) -> bool:
        base, side = self.split_side(vessel_id)
        if base in self.vessels or base in self.generics:
            return side is None or self.is_paired(base)
        return base in self.coronaries

    # --- derived surface forms --------------------------------------------------------------
    def _derive_terms(self) -> Iterable[Term]:
        nouns = self.data.system_nouns
        by_key: dict[tuple[str, bool, str | None], dict] = {}

        def add(
            text: str,
            exact: bool,
            kind: TermKind,
            cand: str,
            system: str | None,
            plural: bool,
            side: str | None = None,
        ) -> None:
            key = (text if exact else text.lower(), exact, side)
            slot = by_key.setdefault(
                key,
                {"kind": kind, "cands": [], "plural": plural, "text": text, "systems": set()},
            )
            if cand not in slot["cands"]:
                slot["cands"].append(cand)
            slot["systems"].add(system)
            if kind == "coronary" or slot["kind"] == "coronary":
                slot["kind"] = "coronary"
            elif kind == "vessel" and slot["kind"] == "generic":
                slot["kind"] = "vessel"

        bare_names = {
            name
            for entry in (*self.vessels.values(), *self.generics.values())
            if entry.bare
            for name in entry.names
        }
        for entry in (*self.vessels.values(), *self.generics.values()):
            kind: TermKind = "generic" if entry.id in self.generics else "vessel"
            sys_nouns = nouns[entry.system]
            for name in entry.names:
                for noun in sys_nouns.singular:
                    add(f"{name} {noun}", False, kind, entry.id, entry.system, False)
                for noun in sys_nouns.plural:
                    add(f"{name} {noun}", False, kind, entry.id, entry.system, True)
                if name in bare_names:
                    add(name, False, kind, entry.id, None, False)
                    add(name + "s", False, kind, entry.id, None, True)
            if isinstance(entry, VesselEntry):
                for term in entry.terms:
                    exact = " " not in term and any(c.isupper() for c in term)
                    add(term, exact, kind, entry.id, entry.system, term.endswith("s"))
                    last = term.rsplit(" ", 1)[-1]
                    plural = _plural_of(last)
                    if plural:
                        add(term[: -len(last)] + plural, exact, kind, entry.id, entry.system, True)
                for abbr in entry.abbreviations:
                    add(abbr, True, kind, entry.id, entry.system, False)
                    add(abbr + "s", True, kind, entry.id, entry.system, True)
                for abbr in entry.abbreviations_any_case:
                    add(abbr, False, kind, entry.id, entry.system, False)
                    add(abbr + "s", False, kind, entry.id, entry.system, True)
                if entry.paired:
                    compact = self.data.compact_side_prefix
                    for abbr in entry.abbreviations:
                        if len(abbr) >= compact.min_length or abbr in compact.also:
                            add(
                                compact.left + abbr,
                                True,
                                kind,
                                entry.id,
                                entry.system,
                                False,
                                "left",
                            )
                            add(
                                compact.right + abbr,
                                True,
                                kind,
                                entry.id,
                                entry.system,
                                False,
                                "right",
                            )
        for abbr, sided in self.data.sided_abbreviations.items():
            system = self.system_of(sided.vessel)
            add(abbr, True, "vessel", sided.vessel, system, False, sided.side)
        for coronary in self.coronaries.values():
            for term in coronary.terms:
                exact = " " not in term and any(c.isupper() for c in term)
                add(term, exact, "coronary", coronary.id, None, False)
        for region in self.regions.values():
            for term in region.terms:
                add(term, False, "region", region.id, None, False)

        for (_, exact, side), slot in sorted(
            by_key.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        ):
            systems = slot["systems"]
            system = next(iter(systems)) if len(systems) == 1 else None
            yield Term(
                text=slot["text"],
                exact_case=exact,
                kind=slot["kind"],
                candidates=tuple(slot["cands"]),
                system=system,  # type: ignore[arg-type]
                plural=slot["plural"],
                side=side,  # type: ignore[arg-type]
            )

    # --- flow-path graph --------------------------------------------------------------------
    def _nodes_for(self, vessel_id: str) -> list[Node]:
        base, side = self.split_side(vessel_id)
        if side is not None:
            return [(base, side)]
        if self.is_paired(base):
            return [(base, "left"), (base, "right")]
        return [(base, None)]

    def _build_graph(self) -> dict[Node, list[Node]]:
        graph: dict[Node, set[Node]] = {}
        for a, b in self.data.adjacency:
            a_nodes, b_nodes = self._nodes_for(a), self._nodes_for(b)
            for na in a_nodes:
                for nb in b_nodes:
                    if na[1] is not None and nb[1] is not None and na[1] != nb[1]:
                        continue
                    graph.setdefault(na, set()).add(nb)
                    graph.setdefault(nb, set()).add(na)
        return {
            node: sorted(nbrs, key=lambda n: (n[0], n[1] or "")) for node, nbrs in graph.items()
        }

    def path_between(
        self, start: str, start_side: SideValue | None, end: str, end_side: SideValue | None
    ) -> list[Node] | None:
        """Vessels an extent from ``start`` to ``end`` spans, both ends included, in order.

        A paired end without a side borrows the other end's side; when neither end has one the
        path is found on the left and returned without sides. ``None`` when the two vessels are
        not connected along the flow path (e.g. an artery and a vein).
        """
        if start == end and start_side == end_side:
            return [(start, start_side)]
        strip = False
        if self.is_paired(start) and start_side is None:
            start_side = end_side if self.is_paired(end) or end_side else None
        if self.is_paired(end) and end_side is None:
            end_side = start_side
        if self.is_paired(start) and start_side is None:
            start_side = "left"
            strip = True
        if self.is_paired(end) and end_side is None:
            end_side = "left"
            strip = True
        a: Node = (start, start_side if self.is_paired(start) else None)
        b: Node = (end, end_side if self.is_paired(end) else None)
        if a not in self._graph or b not in self._graph:
            return None
        previous: dict[Node, Node | None] = {a: None}
        queue: deque[Node] = deque([a])
        while queue:
            node = queue.popleft()
            if node == b:
                break
            for nxt in self._graph[node]:
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        if b not in previous:
            return None
        path: list[Node] = []
        cursor: Node | None = b
        while cursor is not None:
            path.append(cursor)
            cursor = previous[cursor]
        path.reverse()
        if strip:
            path = [(base, None) for base, _ in path]
        return path


@cache
def load_ontology() -> Ontology:
    """Load and validate ``rules_core/data/vessels.json`` once per process."""
    data, raw = read_json_rule_file("rules_core.data", "vessels.json")
    model = validate_model(VesselFile, data, "rules_core/data/vessels.json")
    return Ontology(model, raw)  # type: ignore[arg-type]
