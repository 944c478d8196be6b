"""``ivus-coder train-linker``: train the learned vessel linker from the gold corpus.

Builds the candidate pairs of the corpus's ``train`` split with a rules-only pipeline
(:func:`nlp.learned_linker.training_set`), fits both heads (:mod:`models.linker_training`) and
writes ``models/weights/linker.json``. The same corpus and code give the same bytes; ``--check``
compares instead of writing (exit 1 on a difference).

``--cv K`` also measures, without touching the test split: grouped K-fold cross-validation on
train+dev (pair-level figures from the out-of-fold probabilities, and end-to-end figures from
coding every note with the heads of the fold that did not see it, scored by
:func:`models.evaluation.evaluate` with its bootstrap intervals), and the heads fitted on train
scored on dev. ``--report DIR`` writes that report as ``cv.json`` and ``cv.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli import EXIT_OK, register_command

EXIT_DIFFERENT = 1
SOURCE_CORPUS = Path(__file__).resolve().parents[1] / "corpus"
HEADLINE = ("code_exact_match", "vessel", "links", "linked_mentions")


@register_command("train-linker", "train the learned vessel linker and write its JSON weights")
def _register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Fit the learned vessel linker (models/CARD.md) on the gold corpus and write its weights "
        "as JSON. The same corpus gives the same bytes. With --cv, also report grouped "
        "cross-validation on train+dev and the train-fitted heads on dev, beside the rule linker."
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="PATH",
        help="where to write the weights (default: the shipped models/weights/linker.json)",
    )
    parser.add_argument(
        "--corpus",
        default=None,
        metavar="DIR",
        help="folder holding train.jsonl and dev.jsonl (default: the source tree's corpus/)",
    )
    parser.add_argument(
        "--splits",
        default="train",
        help="comma-separated splits the weights are fitted on (default: train; never test)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the file at --out differs from what training gives",
    )
    parser.add_argument(
        "--cv",
        type=int,
        default=0,
        metavar="K",
        help="also cross-validate with K folds grouped by document on --cv-splits, and score "
        "the train-fitted heads on dev",
    )
    parser.add_argument(
        "--cv-splits",
        default="train,dev",
        help="splits of the cross-validation (default: %(default)s)",
    )
    parser.add_argument(
        "--policy", default="sir", help="coding policy of the end-to-end figures (default: sir)"
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="with --cv: also the end-to-end figures over a grid of mention thresholds",
    )
    parser.add_argument("--report", metavar="DIR", help="write cv.json and cv.md here")
    parser.set_defaults(handler=run_train_linker)


def _splits(value: str) -> list[str]:
    from models.errors import ModelFileError

    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names or "test" in names:
        raise ModelFileError("E202", path="--splits", detail="give train and/or dev; never test")
    return names


def read_corpus(corpus: Path, splits: Sequence[str]) -> list[dict[str, Any]]:
    """The gold documents of ``splits`` (E207 when a split file is missing)."""
    from models.errors import ModelFileError
    from rules_core.gold import read_jsonl

    docs: list[dict[str, Any]] = []
    for split in splits:
        path = corpus / f"{split}.jsonl"
        if not path.is_file():
            raise ModelFileError("E207", path=str(corpus), name=path.name)
        docs.extend(read_jsonl(path))
    return docs


def train_weights(corpus: Path, splits: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The weights file text fitted on ``splits`` of ``corpus``, and the weights document."""
    from models.errors import ModelFileError
    from models.linker_training import build_weights, dumps_weights
    from nlp.learned_linker import training_set

    training = training_set(read_corpus(corpus, splits))
    if not training.summary()["candidates"]:
        raise ModelFileError("E206", path=str(corpus), splits="/".join(splits))
    weights = build_weights(training, splits)
    return dumps_weights(weights), weights


def run_train_linker(args: argparse.Namespace) -> int:
    from models.linker_model import DEFAULT_WEIGHTS

    corpus = Path(args.corpus) if args.corpus else SOURCE_CORPUS
    splits = _splits(args.splits)
    out = Path(args.out) if args.out else DEFAULT_WEIGHTS
    text, weights = train_weights(corpus, splits)
    data = text.encode("utf-8")
    summary = {
        "out": str(out),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "training": weights["training"],
    }
    status = EXIT_OK
    if args.check:
        same = out.is_file() and out.read_bytes() == data
        summary["identical"] = same
        status = EXIT_OK if same else EXIT_DIFFERENT
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    if args.cv:
        report = cross_validation_report(
            corpus, _splits(args.cv_splits), args.cv, args.policy, sweep=args.sweep
        )
        summary["cross_validation"] = report
        if args.report:
            folder = Path(args.report)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "cv.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
            (folder / "cv.md").write_text(markdown_cv(report), "utf-8")
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    if args.check and status != EXIT_OK:
        print(
            "ivus-coder: the weights differ from what training gives on this corpus; run "
            "'ivus-coder train-linker' to write them",
            file=sys.stderr,
        )
    return status


# --- cross-validation and dev figures ---------------------------------------------------------
def _predictions(coder: Any, docs: Sequence[dict[str, Any]], policy: str) -> list[Any]:
    from models.evaluation import Prediction

    out = []
    for doc in docs:
        coded = coder.code_facts(doc["text"], document_id=doc["id"], policy=policy)
        out.append(Prediction(coded.facts, coded.result))
    return out


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    ci = report.get("intervals", {})
    return {
        "documents": report["documents"],
        "code_exact_match": report["code_exact_match"],
        "code_exact_match_ci": ci.get("code_exact_match"),
        "unit_mae": report["unit_mae"],
        "vessel": report["vessel"],
        "vessel_f1_ci": ci.get("vessel_f1"),
        "links": report["links"],
        "link_f1_ci": ci.get("link_f1"),
        "linked_mentions": report["linked_mentions"],
        "linked_mention_f1_ci": ci.get("linked_mention_f1"),
        "flags_f1": report["flags"]["f1"],
        "errors": [e for e in report["errors"] if e["kind"] in ("codes", "vessel-fp", "vessel-fn")],
    }


def _coder(mode: str, weights_path: str | None = None) -> Any:
    from nlp.pipeline import Extractor

    from .coding import Coder

    return Coder(Extractor(linker=mode, linker_weights=weights_path))


# Mention thresholds tried by --sweep: (threshold, threshold_without_rule_link); models/CARD.md
SWEEP: dict[str, list[tuple[float, float | None]]] = {
    "model": [(0.5, None), (0.6, None), (0.7, None), (0.75, None), (0.8, None)],
    "hybrid": [
        (0.5, None),
        (0.5, 0.7),
        (0.5, 0.9),
        (0.3, 0.7),
        (0.3, 0.8),
        (0.3, 0.9),
        (0.4, 0.9),
    ],
}


def _out_of_fold(
    coder: Any,
    models: Sequence[Any],
    docs: Sequence[dict[str, Any]],
    doc_fold: dict[str, int],
    policy: str,
    thresholds: tuple[float, float | None] | None = None,
) -> list[Any]:
    """Every document coded with the heads of the fold that did not see it (``thresholds``
    replace the mention head's thresholds)."""
    import dataclasses

    component = coder.extractor.nlp.get_pipe("ivus_learned_linker")
    predictions: dict[str, Any] = {}
    for f, model in enumerate(models):
        component.use(model)
        if thresholds is not None:
            mention = dataclasses.replace(
                component.head.mention,
                threshold=thresholds[0],
                threshold_without_rule_link=thresholds[1],
            )
            component.head = dataclasses.replace(component.head, mention=mention)
        fold_docs = [d for d in docs if doc_fold[d["id"]] == f]
        for doc, pred in zip(fold_docs, _predictions(coder, fold_docs, policy), strict=True):
            predictions[doc["id"]] = pred
    return [predictions[d["id"]] for d in docs]


def cross_validation_report(
    corpus: Path, splits: Sequence[str], k: int, policy: str, sweep: bool = False
) -> dict[str, Any]:
    """Grouped k-fold figures on ``splits`` and train→dev figures, for rules, model, hybrid."""
    from models.evaluation import evaluate
    from models.linker_model import LEARNED_MODES, load_linker_model
    from models.linker_training import (
        brier,
        cross_validate,
        dumps_weights,
        fit_heads,
        log_loss,
        pair_counts,
        reliability,
        rule_pair_counts,
        weights_document,
    )
    from nlp.learned_linker import training_set

    docs = read_corpus(corpus, splits)
    training = training_set(docs)
    cv = cross_validate(training, k)
    report: dict[str, Any] = {
        "splits": list(splits),
        "folds": k,
        "policy": policy,
        "candidates": training.summary(),
        "candidate_recall_by_split": {
            split: training.subset({d["id"] for d in docs if d["split"] == split}).summary()[
                "candidate_recall"
            ]
            for split in splits
        },
        "pairs": {"rules": rule_pair_counts(training)},
    }
    for mode in LEARNED_MODES:
        p = cv.pair_probabilities[mode]
        report["pairs"][mode] = {
            **pair_counts(training, cv.linked[mode], 0.5),
            "pair_head_alone": pair_counts(training, p, 0.5),
            "log_loss": log_loss(training, p),
            "brier": brier(training, p),
            "reliability": reliability(training, p),
        }
    end_to_end: dict[str, Any] = {}
    rules_predictions = _predictions(_coder("rules"), docs, policy)
    end_to_end["rules"] = _headline(evaluate(docs, rules_predictions, policy))
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for f, heads in enumerate(cv.fold_heads):
            fold_training = training.subset({d for d, g in cv.doc_fold.items() if g != f})
            path = Path(tmp) / f"fold{f}.json"
            path.write_text(dumps_weights(weights_document(heads, fold_training, splits)), "utf-8")
            paths.append(str(path))
        for mode in LEARNED_MODES:
            coder = _coder(mode, paths[0])
            models = [load_linker_model(path) for path in paths]
            end_to_end[mode] = _headline(
                evaluate(docs, _out_of_fold(coder, models, docs, cv.doc_fold, policy), policy)
            )
            if sweep:
                rows = []
                for thresholds in SWEEP[mode]:
                    predictions = _out_of_fold(coder, models, docs, cv.doc_fold, policy, thresholds)
                    row = _headline(evaluate(docs, predictions, policy))
                    rows.append(
                        {
                            "mention_threshold": thresholds[0],
                            "threshold_without_rule_link": thresholds[1],
                            "code_exact_match": row["code_exact_match"],
                            "vessel_f1": row["vessel"]["f1"],
                            "link_f1": row["links"]["f1"],
                            "linked_mention_f1": row["linked_mentions"]["f1"],
                        }
                    )
                report.setdefault("threshold_sweep", {})[mode] = rows
        report["end_to_end"] = end_to_end
        # dev: heads fitted on train only (the shipped configuration), scored on dev
        if "dev" in splits and "train" in splits:
            train_docs = [d for d in docs if d["split"] == "train"]
            dev_docs = [d for d in docs if d["split"] == "dev"]
            train_set = training.subset({d["id"] for d in train_docs})
            path = Path(tmp) / "train.json"
            path.write_text(
                dumps_weights(weights_document(fit_heads(train_set), train_set, ["train"])),
                "utf-8",
            )
            dev: dict[str, Any] = {
                "rules": _headline(
                    evaluate(dev_docs, _predictions(_coder("rules"), dev_docs, policy), policy)
                )
            }
            for mode in LEARNED_MODES:
                coder = _coder(mode, str(path))
                dev[mode] = _headline(
                    evaluate(dev_docs, _predictions(coder, dev_docs, policy), policy)
                )
            report["dev"] = dev
            report["dev_best"] = best_linker(dev)
    report["cv_best"] = best_linker(end_to_end)
    return report


def best_linker(figures: dict[str, dict[str, Any]]) -> str:
    """The linker with the best code exact match, then vessel F1, then link F1 (rules first
    on a tie: a learned linker must do better to be the default)."""
    order = ["rules", "hybrid", "model"]

    def key(mode: str) -> tuple[float, float, float, int]:
        row = figures[mode]
        return (
            row["code_exact_match"],
            row["vessel"]["f1"],
            row["links"]["f1"],
            -order.index(mode),
        )

    return max((m for m in order if m in figures), key=key)


def markdown_cv(report: dict[str, Any]) -> str:
    """The cross-validation report as Markdown tables (for models/CARD.md)."""

    def ci(value: list[float] | None) -> str:
        return f" ({value[0]:.3f}–{value[1]:.3f})" if value else ""

    def table(rows: dict[str, dict[str, Any]]) -> list[str]:
        out = [
            "| linker | docs | code exact | vessel F1 | link P / R / F1 | linked-mention F1 |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for mode, row in rows.items():
            links = row["links"]
            out.append(
                f"| {mode} | {row['documents']} | {row['code_exact_match']:.3f}"
                f"{ci(row['code_exact_match_ci'])} | {row['vessel']['f1']:.3f}"
                f"{ci(row['vessel_f1_ci'])} | {links['precision']:.3f} / {links['recall']:.3f} / "
                f"{links['f1']:.3f}{ci(row['link_f1_ci'])} | {row['linked_mentions']['f1']:.3f}"
                f"{ci(row['linked_mention_f1_ci'])} |"
            )
        return out

    lines = [
        f"# Learned linker — {report['folds']}-fold cross-validation on "
        f"{'+'.join(report['splits'])}, policy `{report['policy']}`",
        "",
        f"Candidates: {json.dumps(report['candidates'])}",
        f"Candidate recall by split: {json.dumps(report['candidate_recall_by_split'])}",
        "",
        "## Pair level (out-of-fold probabilities, threshold 0.5)",
        "",
        "| linker | P | R | F1 | log loss | Brier |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for mode, row in report["pairs"].items():
        lines.append(
            f"| {mode} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
            f"{row.get('log_loss', '')} | {row.get('brier', '')} |"
        )
    lines += ["", "## End to end, out of fold (95% bootstrap intervals)", ""]
    lines += table(report["end_to_end"])
    lines += ["", f"Best by CV: `{report['cv_best']}`"]
    for mode, rows in report.get("threshold_sweep", {}).items():
        lines += [
            "",
            f"## Mention thresholds, `{mode}` (end to end, out of fold)",
            "",
            "| mention threshold | without a rule link | code exact | vessel F1 | link F1 | "
            "linked-mention F1 |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            lines.append(
                f"| {row['mention_threshold']} | {row['threshold_without_rule_link'] or '–'} | "
                f"{row['code_exact_match']:.3f} | {row['vessel_f1']:.3f} | {row['link_f1']:.3f} | "
                f"{row['linked_mention_f1']:.3f} |"
            )
    if "dev" in report:
        lines += ["", "## Fitted on train, scored on dev", ""]
        lines += table(report["dev"])
        lines += ["", f"Best on dev: `{report['dev_best']}`"]
    return "\n".join(lines) + "\n"
