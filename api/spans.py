"""Every span worth highlighting in a note, as JSON (``?include=spans``): what the review page
draws. The styles are those of ``ivus-coder explain`` (:func:`api.explain.highlight_spans`), in
the same order, so the page and the terminal always agree.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rules_core import Facts


def _canonical_index(result: dict[str, Any]) -> dict[tuple[int, int], list[str]]:
    """(start, end) of every evidence span in the result → the vessel ids it supports."""
    index: dict[tuple[int, int], list[str]] = defaultdict(list)
    for vessel in result.get("vessels", []):
        for evidence in vessel["evidence"]:
            ids = index[(evidence["start"], evidence["end"])]
            if vessel["id"] not in ids:
                ids.append(vessel["id"])
    return index


def build_spans(facts: Facts, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per highlighted span: ``type`` (the fact kind), ``style`` (as in explain),
    character offsets and text, the fact's own detail (kind, assertion, side...), ``links``
    (ids of the facts it is linked to) and ``vessels`` (the result's vessel ids it is evidence
    for). Sorted by start, widest first."""
    examined = {link.vessel for link in facts.links}
    ivus_links: dict[str, list[str]] = defaultdict(list)
    vessel_links: dict[str, list[str]] = defaultdict(list)
    for link in facts.links:
        ivus_links[link.ivus].append(link.vessel)
        vessel_links[link.vessel].append(link.ivus)
    canonical = _canonical_index(result)
    out: list[dict[str, Any]] = []

    def add(fact_type: str, style: str, item: Any, links: list[str], **detail: Any) -> None:
        span = item.span
        record: dict[str, Any] = {
            "id": item.id,
            "type": fact_type,
            "style": style,
            "start": span.start,
            "end": span.end,
            "text": span.text,
            **{k: v for k, v in detail.items() if v is not None},
            "links": links,
            "vessels": list(canonical.get((span.start, span.end), ())),
        }
        out.append(record)

    for extent in facts.extents:
        add(
            "extent",
            "extent",
            extent,
            [extent.start_vessel, extent.end_vessel],
            kind=str(extent.kind),
            pathology=extent.pathology,
        )
    for procedure in facts.procedures:
        add(
            "procedure",
            "procedure",
            procedure,
            [],
            kind=procedure.kind,
            assertion=str(procedure.assertion),
        )
    for pathology in facts.pathologies:
        add("pathology", "pathology", pathology, [], kind=pathology.kind)
    for vessel in facts.vessels:
        style = "vessel-examined" if vessel.id in examined else "vessel"
        add(
            "vessel",
            style,
            vessel,
            vessel_links.get(vessel.id, []),
            kind=str(vessel.kind),
            side=vessel.side,
            role=vessel.role,
        )
    for finding in facts.findings:
        add("finding", "finding", finding, list(finding.vessels), kind=finding.kind)
    for modality in facts.modalities:
        add(
            "modality",
            "modality",
            modality,
            [],
            kind=modality.kind,
            assertion=str(modality.assertion),
        )
    for ivus in facts.ivus:
        style = "ivus" if ivus.assertion == "affirmed" else "ivus-set-aside"
        add(
            "ivus",
            style,
            ivus,
            ivus_links.get(ivus.id, []),
            assertion=str(ivus.assertion),
            section=ivus.section,
        )
    out.sort(key=lambda s: (s["start"], -(s["end"] - s["start"])))
    return out
