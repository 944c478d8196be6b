"""The deterministic coder: facts + policy → CPT +37252/+37253 units with evidence.

One function per RULEBOOK rule; ``code_encounter`` applies them in order. Same facts, same
policy, same settings and same ruleset version give the same result, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .normalize import Vessel, expand_path, normalize_mention
from .ontology import Ontology, load_ontology
from .policy import CodingSettings, Policy, PolicyTable, load_policies
from .types import (
    Assertion,
    CodingResult,
    ExtentKind,
    Facts,
    Span,
    VesselMention,
)
from .version import ruleset_version

PRIMARY_PROCEDURES = frozenset(
    {
        "angiography",
        "venography",
        "catheterization",
        "angioplasty",
        "stent",
        "atherectomy",
        "thrombectomy",
        "thrombolysis",
        "endograft",
        "embolization",
        "intervention",
    }
)

ASSERTION_REASON = {
    Assertion.NEGATED: "negated",
    Assertion.HYPOTHETICAL: "planned",
    Assertion.HISTORICAL: "historical",
    Assertion.NO_IMAGES: "no-images",
}

NON_IVUS = {
    # kind: (see_code, detail) — RULEBOOK 2.
    "ice": ("93662", "intracardiac echocardiography is reported with 93662, not IVUS"),
    "oct": (None, "optical coherence tomography is not ultrasound and not +37252/+37253"),
    "oct-coronary": ("92978", "coronary OCT is reported with 92978 (+92979), not +37252/+37253"),
    "duplex": (None, "transcutaneous duplex ultrasound is not intravascular"),
    "us-guided-access": ("76937", "ultrasound guidance for vascular access is 76937, not IVUS"),
    "tee": (None, "transesophageal echocardiography is not IVUS"),
    "pressure": (None, "intravascular pressure measurement is not imaging"),
    "ffr": (None, "fractional flow reserve is a pressure measurement, not imaging"),
    "angioscopy": (None, "angioscopy is not ultrasound"),
}

CORONARY_DETAIL = "coronary IVUS is reported with 92978 (+92979 each additional vessel)"


@dataclass(slots=True)
class ExaminedVessel:
    """A canonical vessel examined by IVUS, with the evidence collected for it."""

    vessel: Vessel
    first: int
    evidence: list[dict[str, Any]] = field(default_factory=list)
    mentions: set[str] = field(default_factory=set)
    has_finding: bool = False

    def add(self, role: str, span: Span) -> None:
        item = span.to_dict(role)
        if item not in self.evidence:
            self.evidence.append(item)
        self.first = min(self.first, span.start)


@dataclass(slots=True)
class Unit:
    groups: list[str]
    vessels: list[ExaminedVessel]
    merged_by: dict[str, Any] | None = None

    @property
    def first(self) -> int:
        return min(v.first for v in self.vessels)

    @property
    def has_finding(self) -> bool:
        return any(v.has_finding for v in self.vessels)


@dataclass(slots=True)
class _Work:
    """Mutable state threaded through the rule functions for one encounter."""

    facts: Facts
    ontology: Ontology
    policies: PolicyTable
    policy: Policy
    settings: CodingSettings
    mentions: dict[str, VesselMention]
    affirmed: set[str] = field(default_factory=set)
    examined: dict[str, list[Span]] = field(default_factory=dict)
    vessels: dict[str, ExaminedVessel] = field(default_factory=dict)
    absorbed: dict[str, str] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def flag(self, code: str, span: Span | None = None, **extra: Any) -> None:
        item: dict[str, Any] = {
            "code": code,
            "message": self.policies.flag_message(code),
            "start": span.start if span else 0,
            "end": span.end if span else 0,
        }
        item.update(extra)
        if item not in self.flags:
            self.flags.append(item)

    def exclude(self, span: Span, reason: str, detail: str, see_code: str | None = None) -> None:
        item: dict[str, Any] = {**span.to_dict(), "reason": reason, "detail": detail}
        if see_code:
            item["see_code"] = see_code
        if item not in self.excluded:
            self.excluded.append(item)


# --- RULEBOOK 5: only IVUS done in this encounter ---------------------------------------------
def set_aside_unaffirmed_ivus(work: _Work) -> None:
    """Negated, planned, historical and imageless IVUS does not count (RULEBOOK 5)."""
    for mention in work.facts.ivus:
        if mention.assertion is Assertion.AFFIRMED:
            work.affirmed.add(mention.id)
        else:
            reason = ASSERTION_REASON[mention.assertion]
            cue = f" (cue: {mention.cue.text!r})" if mention.cue else ""
            work.exclude(mention.span, reason, f"IVUS {reason}{cue}")


# --- RULEBOOK 2: what is not IVUS ---------------------------------------------------------------
def exclude_non_ivus_modalities(work: _Work) -> None:
    """ICE, OCT, duplex, ultrasound-guided access, TEE and pressure studies are not IVUS."""
    for modality in work.facts.modalities:
        see_code, detail = NON_IVUS.get(modality.kind, (None, f"{modality.kind} is not IVUS"))
        work.exclude(modality.span, "not-ivus", detail, see_code)
        if modality.kind == "oct" and modality.assertion is Assertion.AFFIRMED:
            work.flag("oct-not-ivus", modality.span)


SET_ASIDE_DETAIL = {
    "access": "access vessel named next to the IVUS statement; not examined by IVUS",
    "landmark": "vessel named as a landmark (crossing, compression by, level of); not examined",
    "transit": "vessel the catheter passed through; not named as examined by IVUS",
}


def report_set_aside_vessels(work: _Work) -> None:
    """Vessels named beside an IVUS statement but not examined (access, landmark, transit) are
    listed as excluded, so a coder sees why they were not counted (RULEBOOK 5)."""
    for aside in work.facts.set_aside:
        mention = work.mentions[aside.vessel]
        detail = SET_ASIDE_DETAIL.get(aside.reason, f"{aside.reason}; not examined by IVUS")
        work.exclude(mention.span, f"{aside.reason}-vessel", detail)


def collect_examined_mentions(work: _Work) -> None:
    """Vessel mentions linked to affirmed IVUS (the linker's decision), with the IVUS spans."""
    ivus_by_id = {m.id: m for m in work.facts.ivus}
    for link in work.facts.links:
        if link.ivus in work.affirmed:
            spans = work.examined.setdefault(link.vessel, [])
            span = ivus_by_id[link.ivus].span
            if span not in spans:
                spans.append(span)


def exclude_coronary(work: _Work, mention: VesselMention) -> bool:
    """Coronary arteries and bypass grafts are 92978/92979, never +37252/+37253 (RULEBOOK 2)."""
    if mention.kind != "coronary":
        return False
    work.exclude(mention.span, "coronary", CORONARY_DETAIL, "92978")
    return True


# --- RULEBOOK 3: one unit per vessel per encounter ----------------------------------------------
def count_once_per_vessel(work: _Work) -> None:
    """Every examined mention becomes canonical vessels; a vessel is kept once however often it
    is imaged (CCO, SIR-QA, SVS), and left and right stay different vessels (SMD)."""
    document_system = work.facts.document_system
    for mention_id in sorted(work.examined, key=lambda mid: work.mentions[mid].span.start):
        mention = work.mentions[mention_id]
        if exclude_coronary(work, mention):
            continue
        normalized = normalize_mention(mention, work.ontology, document_system)
        if normalized.system_unknown:
            work.flag("system-unknown", mention.span, text=mention.span.text)
        for vessel in normalized.vessels:
            record = _record(work, vessel)
            record.add("vessel", mention.span)
            record.mentions.add(mention.id)
            for span in work.examined[mention_id]:
                record.add("ivus", span)


def _record(work: _Work, vessel: Vessel) -> ExaminedVessel:
    record = work.vessels.get(vessel.id)
    if record is None:
        record = ExaminedVessel(vessel=vessel, first=10**12)
        work.vessels[vessel.id] = record
    return record


def expand_examined_extents(work: _Work) -> list[tuple[list[str], Any]]:
    """An extent whose two ends were examined names the vessels between them too (RULEBOOK 5:
    "through an extent 'pullback from X to Y'"). An end naming both sides ("into both common
    iliac veins") spans a path to each. Returns the lesion extents as vessel-id lists for
    :func:`merge_continuous_lesions`."""
    lesions: list[tuple[list[str], Any]] = []
    document_system = work.facts.document_system
    for extent in work.facts.extents:
        if extent.start_vessel not in work.examined or extent.end_vessel not in work.examined:
            continue
        start_m, end_m = work.mentions[extent.start_vessel], work.mentions[extent.end_vessel]
        if start_m.kind == "coronary" or end_m.kind == "coronary":
            continue
        starts = normalize_mention(start_m, work.ontology, document_system).vessels
        ends = normalize_mention(end_m, work.ontology, document_system).vessels
        if len(starts) * len(ends) > 4:
            continue  # regional words on both ends: no single path
        ivus_spans = work.examined[extent.start_vessel] + work.examined[extent.end_vessel]
        ids: list[str] = []
        for start in starts:
            for end in ends:
                for vessel in expand_path(work.ontology, start, end, extent.id) or []:
                    record = _record(work, vessel)
                    record.add("extent", extent.span)
                    for span in ivus_spans:
                        record.add("ivus", span)
                    if vessel.id not in ids:
                        ids.append(vessel.id)
        if ids and extent.kind is ExtentKind.LESION:
            lesions.append((ids, extent))
    return lesions


def side_unsided_vessels(work: _Work) -> None:
    """When every sided vessel IVUS examined in the note lies on one side, a paired vessel the
    note names without a side is on that side too (a left-leg case naming "the popliteal")."""
    ontology = work.ontology
    sides = {r.vessel.side for r in work.vessels.values() if r.vessel.side}
    if len(sides) != 1:
        return
    side = next(iter(sides))
    for vid in sorted(work.vessels):
        record = work.vessels[vid]
        vessel = record.vessel
        if vessel.side is not None or not ontology.is_paired(vessel.base):
            continue
        sided = Vessel(
            f"{vessel.base}.{side}",
            vessel.base,
            side,
            vessel.system,
            vessel.generic,
            False,
            vessel.mention,
        )
        target = _record(work, sided)
        target.mentions.update(record.mentions)
        target.has_finding = target.has_finding or record.has_finding
        for item in record.evidence:
            target.add(item["role"], Span(item["start"], item["end"], item["text"]))
        work.absorbed[vid] = sided.id
        del work.vessels[vid]


def absorb_unspecific_vessels(work: _Work) -> None:
    """A generic name ("iliac vein") or a side-less paired vessel is the same vessel as a
    specific, sided one of its family when the note names one: it does not count again."""
    ontology = work.ontology
    specific = [r for r in work.vessels.values() if not r.vessel.generic and r.vessel.side]
    for vid in sorted(work.vessels):
        record = work.vessels[vid]
        vessel = record.vessel
        if vessel.generic:
            covers = ontology.generics[vessel.base].covers
            targets = [
                r
                for r in work.vessels.values()
                if not r.vessel.generic
                and r.vessel.base in covers
                and (vessel.side is None or r.vessel.side == vessel.side)
            ]
            if not targets and vessel.side is None:
                targets = [  # "the iliac arteries" beside "the left iliac artery"
                    r
                    for r in work.vessels.values()
                    if r.vessel.base == vessel.base and r.vessel.side
                ]
        elif vessel.side is None and ontology.is_paired(vessel.base):
            targets = [r for r in specific if r.vessel.base == vessel.base]
        else:
            continue
        if not targets:
            continue
        target = targets[0]
        work.absorbed[vid] = target.vessel.id
        target.mentions.update(record.mentions)
        for item in record.evidence:
            if item["role"] == "vessel" and item not in target.evidence:
                target.evidence.append(item)
        del work.vessels[vid]


def attribute_findings(work: _Work) -> None:
    """Attach IVUS findings to the vessels their mentions denote (RULEBOOK 5 documentation)."""
    by_mention: dict[str, list[ExaminedVessel]] = {}
    for record in work.vessels.values():
        for mention_id in record.mentions:
            by_mention.setdefault(mention_id, []).append(record)
    for finding in work.facts.findings:
        for mention_id in finding.vessels:
            for record in by_mention.get(mention_id, []):
                record.has_finding = True
                record.add("finding", finding.span)


# --- RULEBOOK 3.1 and 3.2: what one vessel is ---------------------------------------------------
def group_by_policy(work: _Work) -> dict[str, list[ExaminedVessel]]:
    """Vessels in the same policy group on the same side count as one (RULEBOOK 3.1)."""
    groups: dict[str, list[ExaminedVessel]] = {}
    for record in work.vessels.values():
        vessel = record.vessel
        groups.setdefault(work.policy.group_of(vessel.base, vessel.side), []).append(record)
    return groups


def cluster_groups(groups: list[str], joins: list[list[str]]) -> list[list[str]]:
    """Union policy groups joined by continuous lesions; each cluster bills as one vessel
    (RULEBOOK 3.2). Clusters and their members come back sorted, so the result is stable."""
    parent = {g: g for g in groups}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for join in joins:
        roots = sorted({find(g) for g in join if g in parent})
        for root in roots[1:]:
            parent[root] = roots[0]
    clusters: dict[str, list[str]] = {}
    for g in sorted(groups):
        clusters.setdefault(find(g), []).append(g)
    return [clusters[root] for root in sorted(clusters)]


def merge_continuous_lesions(
    work: _Work, groups: dict[str, list[ExaminedVessel]], lesions: list[tuple[list[str], Any]]
) -> None:
    """One continuous lesion across vessels is IVUS of a single vessel (RULEBOOK 3.2: SIR-QA,
    SVS, CCO). Policy groups joined by a lesion extent become one unit, with the evidence."""
    joins: list[list[str]] = []
    evidence_of: dict[str, dict[str, Any]] = {}
    for vessel_ids, extent in lesions:
        join = []
        for vid in vessel_ids:
            record = work.vessels.get(work.absorbed.get(vid, vid))
            if record is not None:
                join.append(work.policy.group_of(record.vessel.base, record.vessel.side))
        if len(set(join)) < 2:
            continue
        joins.append(join)
        for g in join:
            evidence_of.setdefault(g, {**extent.span.to_dict(), "extent": extent.id})
    for members in cluster_groups(list(groups), joins):
        records = [r for g in members for r in groups[g]]
        records.sort(key=lambda r: (r.first, r.vessel.id))
        unit = Unit(groups=members, vessels=records)
        if len(members) > 1:
            unit.merged_by = next(evidence_of[g] for g in members if g in evidence_of)
            if len(members) > 2:
                merged = unit.merged_by
                work.flag(
                    "long-merge",
                    Span(merged["start"], merged["end"], merged["text"]),
                    groups=members,
                )
        work.units.append(unit)
    work.units.sort(key=lambda u: (u.first, u.groups[0]))


def apply_documentation_policy(work: _Work) -> None:
    """Each counted vessel should carry an IVUS finding (RULEBOOK 5): flag it (default) or, in
    strict mode, do not count it."""
    kept: list[Unit] = []
    for unit in work.units:
        if unit.has_finding:
            kept.append(unit)
            continue
        first = unit.vessels[0]
        span = _first_span(first, "vessel")
        if work.settings.documentation == "strict":
            work.exclude(span, "no-ivus-finding", f"no IVUS finding for {' + '.join(unit.groups)}")
            continue
        work.flag("no-ivus-finding", span, group=_unit_group(unit))
        kept.append(unit)
    work.units = kept


def _first_span(record: ExaminedVessel, role: str) -> Span:
    for item in record.evidence:
        if item["role"] == role:
            return Span(item["start"], item["end"], item["text"])
    item = record.evidence[0]
    return Span(item["start"], item["end"], item["text"])


def _unit_group(unit: Unit) -> str:
    return " + ".join(unit.groups)


# --- RULEBOOK 4: services that already include IVUS ---------------------------------------------
def suppress_bundled_services(work: _Work) -> bool:
    """IVC filter insertion/repositioning/retrieval and foreign body retrieval include IVUS
    (CCO, SMD): no units, a suppressed entry, a flag when other vessels were imaged too."""
    if not work.affirmed:
        return False
    services = work.policies.settings_file.bundling_services
    bundling = [
        p for p in work.facts.procedures if p.kind in services and p.assertion is Assertion.AFFIRMED
    ]
    if not bundling:
        return False
    related: set[str] = set()
    for procedure in bundling:
        related.update(services[procedure.kind].related_vessels)
    suppressed_groups = [_unit_group(u) for u in work.units]
    seen: set[str] = set()
    for procedure in bundling:
        if procedure.kind in seen:
            continue
        seen.add(procedure.kind)
        service = services[procedure.kind]
        work.suppressed.append(
            {
                **procedure.span.to_dict(),
                "service": procedure.kind,
                "cpt": service.cpt,
                "reason": f"{service.label} ({service.cpt}) includes IVUS; +37252/+37253 "
                "are not reported with it (CCO, SMD)",
                "groups": suppressed_groups,
            }
        )
    if "*" not in related:
        others = [r for r in work.vessels.values() if r.vessel.base not in related]
        if others:
            work.flag(
                "bundled-ivus-other-vessels",
                _first_span(others[0], "vessel"),
                vessels=sorted(r.vessel.id for r in others),
            )
    work.units = []
    return True


# --- documentation and edit flags (RULEBOOK 5, 6) -----------------------------------------------
def flag_unresolved_vessels(work: _Work) -> None:
    """Side-less paired vessels and generic names are counted once and flagged (RULEBOOK 5)."""
    for unit in work.units:
        for record in unit.vessels:
            vessel = record.vessel
            span = _first_span(record, "vessel")
            if vessel.generic:
                work.flag("vessel-unspecific", span, vessel=vessel.id)
            elif vessel.side is None and work.ontology.is_paired(vessel.base):
                work.flag("laterality-missing", span, vessel=vessel.id)


def flag_ivus_without_vessel(work: _Work) -> None:
    """Affirmed IVUS with no attributable vessel: no units, a query flag (RULEBOOK 5)."""
    if not work.affirmed or work.examined:
        return
    first = min((m for m in work.facts.ivus if m.id in work.affirmed), key=lambda m: m.span.start)
    work.flag("ivus-without-vessel", first.span)


def flag_mue(work: _Work, units_37253: int) -> None:
    """37253 above the Medically Unlikely Edit: emit the documented units and flag (RULEBOOK 6)."""
    if units_37253 > work.settings.mue_37253:
        work.flag("exceeds-mue", None, units=units_37253, mue=work.settings.mue_37253)


def flag_missing_primary(work: _Work) -> None:
    """+37252/+37253 are add-ons: flag when no primary procedure is documented (RULEBOOK 1, 6)."""
    if not work.units:
        return
    for procedure in work.facts.procedures:
        if procedure.kind in PRIMARY_PROCEDURES and procedure.assertion is Assertion.AFFIRMED:
            return
    work.flag("no-primary-procedure")


def flag_count_mismatch(work: _Work) -> None:
    """A stated number of vessels imaged that differs from the vessels found is worth a look."""
    if not work.units:
        return
    for stated in work.facts.stated_counts:
        if stated.count != len(work.units):
            work.flag("count-mismatch", stated.span, stated=stated.count, found=len(work.units))


# --- the encounter ------------------------------------------------------------------------------
def code_encounter(
    facts: Facts,
    policy: str | None = None,
    settings: CodingSettings | None = None,
    document_id: str | None = None,
) -> CodingResult:
    """Code one encounter: RULEBOOK 1-7 applied to the extractor's facts."""
    facts.validate()
    ontology = load_ontology()
    policies = load_policies()
    chosen = policies.get(policy)
    work = _Work(
        facts=facts,
        ontology=ontology,
        policies=policies,
        policy=chosen,
        settings=settings or policies.settings(),
        mentions={m.id: m for m in facts.vessels},
    )
    set_aside_unaffirmed_ivus(work)
    exclude_non_ivus_modalities(work)
    report_set_aside_vessels(work)
    collect_examined_mentions(work)
    count_once_per_vessel(work)
    lesions = expand_examined_extents(work)
    absorb_unspecific_vessels(work)
    side_unsided_vessels(work)
    attribute_findings(work)
    groups = group_by_policy(work)
    merge_continuous_lesions(work, groups, lesions)
    flag_ivus_without_vessel(work)
    suppressed = suppress_bundled_services(work)
    if not suppressed:
        apply_documentation_policy(work)
        flag_unresolved_vessels(work)
        flag_missing_primary(work)
        flag_count_mismatch(work)
    units_out = _number_units(work)
    codes = {
        "37252": sum(1 for u in units_out if u["code"] == "37252"),
        "37253": sum(1 for u in units_out if u["code"] == "37253"),
    }
    flag_mue(work, codes["37253"])
    return CodingResult(
        document_id=document_id,
        policy=chosen.name,
        ruleset_version=ruleset_version(facts.extractor_version),
        settings=work.settings.as_dict(),
        codes=codes,
        units=units_out,
        vessels=_vessels_out(work),
        excluded=sorted(work.excluded, key=lambda e: (e["start"], e["end"], e["reason"])),
        suppressed=work.suppressed,
        flags=sorted(work.flags, key=lambda f: (f["start"], f["code"], str(f))),
    )


def _number_units(work: _Work) -> list[dict[str, Any]]:
    """The first counted vessel is +37252, each additional one +37253 (RULEBOOK 1)."""
    out = []
    for index, unit in enumerate(work.units):
        out.append(
            {
                "code": "37252" if index == 0 else "37253",
                "group": _unit_group(unit),
                "vessels": [r.vessel.id for r in unit.vessels],
                "merged_by": unit.merged_by,
            }
        )
    return out


def _vessels_out(work: _Work) -> list[dict[str, Any]]:
    records = sorted(work.vessels.values(), key=lambda r: (r.first, r.vessel.id))
    out = []
    for record in records:
        vessel = record.vessel
        out.append(
            {
                "id": vessel.id,
                "label": work.ontology.label(vessel.id),
                "system": vessel.system,
                "side": vessel.side,
                "group": work.policy.group_of(vessel.base, vessel.side),
                "evidence": sorted(
                    record.evidence, key=lambda e: (e["start"], e["end"], e["role"])
                ),
            }
        )
    return out
