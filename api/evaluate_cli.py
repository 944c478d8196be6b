"""``ivus-coder evaluate``: score the coder on a gold corpus and on notes that must code to 0."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rules_core.gold import read_jsonl

from .cli import (
    EXIT_OK,
    _add_linker_option,
    _add_policy_options,
    _coder,
    _settings,
    register_command,
)


@register_command("evaluate", "score the coder against a gold corpus")
def _register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Code every gold document and report span P/R/F1 per label (exact and overlap), assertion "
        "accuracy, link P/R/F1, vessel P/R/F1, code exact match and mean absolute unit error, per "
        "tag and per source, with bootstrap 95% intervals and every error listed."
    )
    parser.add_argument(
        "--gold",
        required=True,
        nargs="+",
        metavar="PATH",
        help="gold JSON-lines file(s), e.g. corpus/test.jsonl",
    )
    parser.add_argument(
        "--format",
        choices=("json", "markdown"),
        default="json",
        help="what to print (default: json)",
    )
    parser.add_argument(
        "--report", metavar="DIR", help="also write report.json, report.md and PNG plots here"
    )
    parser.add_argument(
        "--negatives",
        metavar="PATH",
        help="CSV or JSONL of notes that must code to zero (e.g. mtsamples); lists false positives",
    )
    parser.add_argument(
        "--id-column", default="id", help="id field of the negatives file (default: id)"
    )
    parser.add_argument(
        "--text-column", default="text", help="text field of the negatives file (default: text)"
    )
    _add_policy_options(parser)
    _add_linker_option(parser)
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from models.evaluation import Prediction, evaluate

    coder = _coder(args)
    settings = _settings(args)
    gold_docs = [doc for path in args.gold for doc in read_jsonl(path)]
    predictions = []
    for doc in gold_docs:
        coded = coder.code_facts(
            doc["text"], document_id=doc["id"], policy=args.policy, settings=settings
        )
        predictions.append(Prediction(coded.facts, coded.result))
    report = evaluate(gold_docs, predictions, args.policy)
    report["linker"] = args.linker
    if args.negatives:
        report["negatives"] = score_negatives(coder, args, settings)
    if args.report:
        write_report(report, Path(args.report), gold_docs, predictions)
    if args.format == "json":
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown_report(report))
    return EXIT_OK


def score_negatives(coder: Any, args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    """Notes that must code to zero: how many did not, and which."""
    from .inputs import iter_documents

    total, failed, positives = 0, 0, []
    for doc in iter_documents(
        [args.negatives], id_field=args.id_column, text_field=args.text_column, unique=True
    ):
        total += 1
        if doc.error is not None:
            failed += 1
            continue
        result = coder.code(
            doc.text or "", document_id=doc.id, policy=args.policy, settings=settings
        )
        if "error" in result:
            failed += 1
        elif result["codes"]["37252"] or result["codes"]["37253"]:
            positives.append(
                {
                    "document": doc.id,
                    "codes": result["codes"],
                    "vessels": [v["id"] for v in result["vessels"]],
                }
            )
    return {
        "documents": total,
        "unreadable_or_empty": failed,
        "false_positive_documents": len(positives),
        "false_positives": positives,
    }


def markdown_report(report: dict[str, Any]) -> str:
    """A readable summary of the report."""
    ci = report.get("intervals", {})

    def interval(key: str) -> str:
        return f" (95% CI {ci[key][0]:.3f}–{ci[key][1]:.3f})" if key in ci else ""

    def prf_line(name: str, key: str, ci_key: str | None = None) -> str:
        fig = report[key]
        head = f"{fig['precision']:.3f} / {fig['recall']:.3f} / **{fig['f1']:.3f}**"
        return f"- {name} P/R/F1: {head}{interval(ci_key) if ci_key else ''}"

    assertion = report["assertion"]
    lines = [
        f"# IVUS Coder evaluation — policy `{report['policy']}`, linker "
        f"`{report.get('linker', 'rules')}`, {report['documents']} documents",
        "",
        f"- Code exact match: **{report['code_exact_match']:.3f}**{interval('code_exact_match')}",
        f"- Mean absolute unit error: **{report['unit_mae']:.3f}**{interval('unit_mae')}",
        prf_line("Vessel", "vessel", "vessel_f1"),
        prf_line("Link", "links", "link_f1"),
        prf_line("Linked vessel mentions", "linked_mentions", "linked_mention_f1"),
        f"- Assertion accuracy (IVUS spans): {assertion.get('accuracy', float('nan')):.3f} "
        f"over {assertion['n']}",
        prf_line("Review-flag", "flags"),
        "",
        "| label | exact P | exact R | exact F1 | overlap P | overlap R | overlap F1 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, figures in report["spans"].items():
        cells = [figures[m][k] for m in ("exact", "overlap") for k in ("precision", "recall", "f1")]
        lines.append(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    lines += [
        "",
        "| group | docs | code exact | unit MAE | vessel F1 | link F1 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, rows in (("source", report["by_source"]), ("tag", report["by_tag"])):
        for key, row in rows.items():
            cells = [row[k] for k in ("code_exact_match", "unit_mae", "vessel_f1", "link_f1")]
            lines.append(
                f"| {name}: {key} | {row['documents']} | "
                + " | ".join(f"{c:.3f}" for c in cells)
                + " |"
            )
    if "negatives" in report:
        neg = report["negatives"]
        lines += [
            "",
            f"Negatives: {neg['false_positive_documents']} of {neg['documents']} documents "
            "coded above zero.",
        ]
    code_errors = [e for e in report["errors"] if e["kind"] in ("codes", "vessel-fp", "vessel-fn")]
    lines += ["", f"## Code and vessel errors ({len(code_errors)})", ""]
    for error in code_errors:
        detail = {k: v for k, v in error.items() if k not in ("kind", "document")}
        lines.append(
            f"- `{error['document']}` {error['kind']}: {json.dumps(detail, ensure_ascii=False)}"
        )
    return "\n".join(lines) + "\n"


def write_report(
    report: dict[str, Any], out: Path, gold_docs: list[dict[str, Any]], predictions: list[Any]
) -> None:
    """report.json, report.md, span_f1.png (per-label F1) and units.png (expected vs proposed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    labels = list(report["spans"])
    exact = [report["spans"][k]["exact"]["f1"] for k in labels]
    overlap = [report["spans"][k]["overlap"]["f1"] for k in labels]
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], exact, width=0.4, label="exact")
    ax.bar([x + 0.2 for x in xs], overlap, width=0.4, label="overlap")
    ax.set_xticks(list(xs), labels, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title(f"Span F1 per label ({report['documents']} documents)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "span_f1.png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    policy = report["policy"]
    expected = [sum(d["expected"][policy].values()) for d in gold_docs]
    proposed = [sum(p.result["codes"].values()) for p in predictions]
    top = max([*expected, *proposed, 1])
    grid = [[0] * (top + 1) for _ in range(top + 1)]
    for e, p in zip(expected, proposed, strict=True):
        grid[p][e] += 1
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(grid, origin="lower", cmap="Blues")
    for p in range(top + 1):
        for e in range(top + 1):
            if grid[p][e]:
                ax.text(e, p, str(grid[p][e]), ha="center", va="center")
    ax.set_xlabel("expected units (37252 + 37253)")
    ax.set_ylabel("proposed units")
    ax.set_title("Expected vs proposed units per document")
    fig.tight_layout()
    fig.savefig(out / "units.png", dpi=120, metadata={"Software": None})
    plt.close(fig)
