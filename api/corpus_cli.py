"""``ivus-coder corpus``: build, check, describe and convert the annotated corpus."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rules_core.gold import (
    MarkupError,
    build_corpus,
    check_sources,
    read_jsonl,
    validate_document,
    write_jsonl,
)

from .cli import EXIT_DOCUMENT_ERRORS, EXIT_OK, register_command


@register_command("corpus", "build, check, describe and convert the annotated corpus")
def _register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Work with the gold corpus (JSON lines with character offsets; see corpus/GUIDE.md)."
    )
    sub = parser.add_subparsers(dest="corpus_command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="compile corpus/src/**/*.note into train/dev/test .jsonl")
    build.add_argument("--src", default="corpus/src", help="note sources (default: corpus/src)")
    build.add_argument("--out", default="corpus", help="where the split files go (default: corpus)")
    build.set_defaults(handler=run_build)
    check = sub.add_parser("check", help="validate .note sources or .jsonl gold files")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("--show", action="store_true", help="list every span of each .note file")
    check.set_defaults(handler=run_check)
    stats = sub.add_parser("stats", help="label, tag, assertion and code distributions (Markdown)")
    stats.add_argument("paths", nargs="+", metavar="JSONL")
    stats.set_defaults(handler=run_stats)
    export = sub.add_parser("export-brat", help="write gold JSON lines as a brat collection")
    export.add_argument("gold", metavar="JSONL")
    export.add_argument("out", metavar="DIR")
    export.set_defaults(handler=run_export)
    agree = sub.add_parser("agreement", help="inter-annotator agreement of two annotations")
    agree.add_argument("first", metavar="PATH", help="gold .jsonl, or a folder of .note files")
    agree.add_argument(
        "second", metavar="PATH", help="the second annotation (.jsonl or folder of .note)"
    )
    agree.add_argument(
        "--policy", default="sir", help="policy for the code comparison (default: sir)"
    )
    agree.set_defaults(handler=run_agreement)
    imp = sub.add_parser("import-brat", help="read a brat collection back into gold JSON lines")
    imp.add_argument("folder", metavar="DIR")
    imp.add_argument("out", metavar="JSONL")
    imp.set_defaults(handler=run_import)


def run_build(args: argparse.Namespace) -> int:
    try:
        counts = build_corpus(args.src, args.out)
    except MarkupError as exc:
        print(exc, file=sys.stderr)
        return EXIT_DOCUMENT_ERRORS
    print(" ".join(f"{split}={n}" for split, n in counts.items()))
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    notes = [p for p in args.paths if p.endswith(".note")]
    problems = check_sources(notes, show=args.show) if notes else 0
    for path in (p for p in args.paths if not p.endswith(".note")):
        for doc in read_jsonl(path):
            for problem in validate_document(doc):
                print(f"{path}: {problem}")
                problems += 1
    print(f"{problems} problem(s)")
    return EXIT_DOCUMENT_ERRORS if problems else EXIT_OK


def corpus_stats(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts a data card reports: documents and words by split and source, labels, assertions,
    tags, and documents by expected units under each policy."""
    by = Counter((d["split"], d["source"]) for d in docs)
    words = [len(d["text"].split()) for d in docs]
    labels = Counter(s["label"] for d in docs for s in d["spans"])
    assertions = Counter(
        s["attrs"].get("assertion", "affirmed")
        for d in docs
        for s in d["spans"]
        if s["label"] == "IVUS"
    )
    tags = Counter(t for d in docs for t in d["tags"])
    units = {
        policy: Counter(sum(d["expected"][policy].values()) for d in docs)
        for policy in ("sir", "named-vessel")
    }
    return {
        "documents": len(docs),
        "by_split_source": {f"{s}/{o}": n for (s, o), n in sorted(by.items())},
        "words": {"min": min(words), "max": max(words), "mean": round(sum(words) / len(words), 1)}
        if words
        else {},
        "labels": dict(labels.most_common()),
        "ivus_assertions": dict(assertions.most_common()),
        "links": sum(len(d["links"]) for d in docs),
        "tags": dict(sorted(tags.items())),
        "units": {p: dict(sorted(c.items())) for p, c in units.items()},
    }


def run_stats(args: argparse.Namespace) -> int:
    docs = [doc for path in args.paths for doc in read_jsonl(path)]
    json.dump(corpus_stats(docs), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def _load_any(path: str) -> list[dict[str, Any]]:
    from rules_core.gold import compile_note

    folder = Path(path)
    if folder.is_dir():
        return [
            compile_note(p.read_text(encoding="utf-8"), split="train")
            for p in sorted(folder.glob("*.note"))
        ]
    return list(read_jsonl(path))


def run_agreement(args: argparse.Namespace) -> int:
    from models.evaluation import agreement

    result = agreement(_load_any(args.first), _load_any(args.second), args.policy)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from rules_core.brat import export_brat

    count = export_brat(list(read_jsonl(args.gold)), args.out)
    print(f"{count} document(s) written to {args.out}")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from rules_core.brat import import_brat

    docs = import_brat(args.folder)
    problems = [p for doc in docs for p in validate_document(doc)]
    for problem in problems:
        print(problem, file=sys.stderr)
    count = write_jsonl(Path(args.out), docs)
    print(f"{count} document(s) written to {args.out}, {len(problems)} problem(s)")
    return EXIT_DOCUMENT_ERRORS if problems else EXIT_OK
