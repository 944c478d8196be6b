"""``ivus-coder explain``: the note with its evidence highlighted, and the proposed lines."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rules_core import Facts

STYLES = {
    "ivus": "bold white on dark_green",
    "ivus-set-aside": "white on grey35",
    "vessel-examined": "bold black on yellow",
    "vessel": "yellow",
    "extent": "underline",
    "finding": "bold cyan",
    "pathology": "magenta",
    "procedure": "blue",
    "modality": "white on dark_red",
}


def highlight_spans(facts: Facts) -> list[tuple[int, int, str]]:
    """(start, end, style name) for every span worth showing, widest first."""
    examined = {link.vessel for link in facts.links}
    spans: list[tuple[int, int, str]] = []
    for extent in facts.extents:
        spans.append((extent.span.start, extent.span.end, "extent"))
    for procedure in facts.procedures:
        spans.append((procedure.span.start, procedure.span.end, "procedure"))
    for pathology in facts.pathologies:
        spans.append((pathology.span.start, pathology.span.end, "pathology"))
    for vessel in facts.vessels:
        style = "vessel-examined" if vessel.id in examined else "vessel"
        spans.append((vessel.span.start, vessel.span.end, style))
    for finding in facts.findings:
        spans.append((finding.span.start, finding.span.end, "finding"))
    for modality in facts.modalities:
        spans.append((modality.span.start, modality.span.end, "modality"))
    for ivus in facts.ivus:
        style = "ivus" if ivus.assertion == "affirmed" else "ivus-set-aside"
        spans.append((ivus.span.start, ivus.span.end, style))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    return spans


def render_explanation(
    text: str, facts: Facts, result: dict[str, Any], console: Console | None = None
) -> None:
    """Print the highlighted note, the lines, the vessels, exclusions and flags."""
    console = console or Console()
    body = Text(text)
    for start, end, style in highlight_spans(facts):
        body.stylize(STYLES[style], start, end)
    console.rule(f"[bold]{result.get('document_id') or 'note'}")
    console.print(body)
    legend = Text("legend: ")
    for name in (
        "ivus",
        "ivus-set-aside",
        "vessel-examined",
        "vessel",
        "extent",
        "finding",
        "pathology",
        "procedure",
        "modality",
    ):
        legend.append(f" {name} ", style=STYLES[name])
        legend.append(" ")
    console.print(legend)

    codes = result["codes"]
    console.rule(
        f"[bold]+37252 × {codes['37252']}   +37253 × {codes['37253']}[/]   "
        f"policy {result['policy']}   {result['ruleset_version']}"
    )
    units = Table("code", "policy group", "vessels", "merged by", title="Proposed lines")
    for unit in result["units"]:
        merged = unit["merged_by"]["text"] if unit.get("merged_by") else ""
        units.add_row(unit["code"], unit["group"], ", ".join(unit["vessels"]), merged)
    console.print(units)
    vessels = Table("vessel", "evidence", title="Vessels examined by IVUS")
    for vessel in result["vessels"]:
        evidence = "; ".join(f"{e['role']}: {e['text']!r}@{e['start']}" for e in vessel["evidence"])
        vessels.add_row(vessel["label"], evidence)
    console.print(vessels)
    if result["excluded"]:
        excluded = Table("text", "reason", "detail", "see", title="Set aside")
        for item in result["excluded"]:
            excluded.add_row(item["text"], item["reason"], item["detail"], item.get("see_code", ""))
        console.print(excluded)
    if result["suppressed"]:
        suppressed = Table("service", "cpt", "evidence", "reason", title="Suppressed")
        for item in result["suppressed"]:
            suppressed.add_row(item["service"], item["cpt"], item["text"], item["reason"])
        console.print(suppressed)
    if result["flags"]:
        flags = Table("flag", "where", "message", title="Review flags")
        for flag in result["flags"]:
            where = text[flag["start"] : flag["end"]] if flag["end"] > flag["start"] else ""
            flags.add_row(flag["code"], where, flag["message"])
        console.print(flags)
