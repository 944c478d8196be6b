"""Scoring the coder against the gold corpus (issue 3): spans, assertions, links, vessels, codes.

- Spans: precision/recall/F1 per label, exact (same offsets) and overlap (greedy one-to-one
  matching of overlapping spans of the same label, earliest first).
- Assertion: accuracy over IVUS spans matched by overlap (scikit-learn ``accuracy_score``,
  ``confusion_matrix``).
- Links: a predicted (IVUS, vessel) link is right when both ends overlap-match a gold link's ends;
  ``linked_mentions`` scores the examined vessel mentions whichever IVUS mention a link starts
  from (a list item and the narrative name the same IVUS run).
- Vessels: micro P/R/F1 over (document, canonical vessel id).
- Codes: exact match (both codes right) and the mean absolute unit error, mean over documents of
  |Δ37252| + |Δ37253| (scikit-learn ``mean_absolute_error`` on the two columns, summed).
- Intervals: percentile bootstrap over documents (1,000 resamples, fixed seed) — Efron &
  Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13.
The same inputs give the same report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, mean_absolute_error

from rules_core.gold import LABELS
from rules_core.types import Facts

BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20261127
ASSERTIONS = ("affirmed", "negated", "hypothetical", "historical", "attempted-no-images")


@dataclass(slots=True)
class Prediction:
    """What the coder said about one gold document."""

    facts: Facts
    result: dict[str, Any]


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def prf(self) -> dict[str, float]:
        return prf(self.tp, self.fp, self.fn)


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts (1.0 when nothing was to be found and none was)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


# --- predicted spans in gold form -------------------------------------------------------------
def predicted_spans(facts: Facts) -> list[dict[str, Any]]:
    """The prediction's spans, labelled as in the gold format."""
    out: list[dict[str, Any]] = []

    def add(label: str, item: Any, **attrs: Any) -> None:
        span = item.span
        out.append(
            {
                "id": item.id,
                "label": label,
                "start": span.start,
                "end": span.end,
                "text": span.text,
                "attrs": attrs,
            }
        )

    for m in facts.ivus:
        add("IVUS", m, assertion=str(m.assertion))
    for v in facts.vessels:
        add("VESSEL", v)
    for e in facts.extents:
        add("EXTENT", e, kind=str(e.kind))
    for p in facts.pathologies:
        add("PATHOLOGY", p, kind=p.kind)
    for f in facts.findings:
        add("FINDING", f, kind=f.kind)
    for p in facts.procedures:
        add("PROCEDURE", p, kind=p.kind, assertion=str(p.assertion))
    for m in facts.modalities:
        add("NON_IVUS_MODALITY", m, kind=m.kind, assertion=str(m.assertion))
    return out


def match_overlap(gold: Sequence[dict[str, Any]], pred: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Greedy one-to-one matching of overlapping spans: predicted id → gold id."""
    pairs = []
    for g in gold:
        for p in pred:
            if p["start"] < g["end"] and g["start"] < p["end"]:
                overlap = min(p["end"], g["end"]) - max(p["start"], g["start"])
                pairs.append((-overlap, g["start"], p["start"], g["id"], p["id"]))
    pairs.sort()
    used_g: set[str] = set()
    out: dict[str, str] = {}
    for _, _, _, gid, pid in pairs:
        if gid in used_g or pid in out:
            continue
        used_g.add(gid)
        out[pid] = gid
    return out


# --- one document -----------------------------------------------------------------------------
@dataclass(slots=True)
class DocScore:
    id: str
    tags: list[str]
    source: str
    spans_exact: dict[str, Counts] = field(default_factory=dict)
    spans_overlap: dict[str, Counts] = field(default_factory=dict)
    links: Counts = field(default_factory=Counts)
    linked_mentions: Counts = field(default_factory=Counts)
    vessels: Counts = field(default_factory=Counts)
    assertion_pairs: list[tuple[str, str]] = field(default_factory=list)
    codes_gold: tuple[int, int] = (0, 0)
    codes_pred: tuple[int, int] = (0, 0)
    flags: Counts = field(default_factory=Counts)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.codes_gold == self.codes_pred


def score_document(gold: dict[str, Any], pred: Prediction, policy: str) -> DocScore:
    """Every comparison for one document, with its errors listed."""
    text = gold["text"]
    score = DocScore(gold["id"], list(gold.get("tags", [])), gold.get("source", "written"))
    pspans = predicted_spans(pred.facts)
    gspans = gold["spans"]
    mapping_by_label: dict[str, dict[str, str]] = {}
    for label in LABELS:
        g = [s for s in gspans if s["label"] == label]
        p = [s for s in pspans if s["label"] == label]
        gset = {(s["start"], s["end"]) for s in g}
        pset = {(s["start"], s["end"]) for s in p}
        score.spans_exact[label] = Counts(len(gset & pset), len(pset - gset), len(gset - pset))
        mapping = match_overlap(g, p)
        mapping_by_label[label] = mapping
        matched_g = set(mapping.values())
        score.spans_overlap[label] = Counts(
            len(mapping), len(p) - len(mapping), len(g) - len(matched_g)
        )
        for s in p:
            if s["id"] not in mapping:
                score.errors.append(
                    {"kind": "span-fp", "label": label, "text": s["text"], "start": s["start"]}
                )
        for s in g:
            if s["id"] not in matched_g:
                score.errors.append(
                    {"kind": "span-fn", "label": label, "text": s["text"], "start": s["start"]}
                )
    # assertions of matched IVUS spans
    gold_by_id = {s["id"]: s for s in gspans}
    for s in pspans:
        if s["label"] == "IVUS" and s["id"] in mapping_by_label["IVUS"]:
            g = gold_by_id[mapping_by_label["IVUS"][s["id"]]]
            pair = (g["attrs"].get("assertion", "affirmed"), s["attrs"]["assertion"])
            score.assertion_pairs.append(pair)
            if pair[0] != pair[1]:
                score.errors.append(
                    {
                        "kind": "assertion",
                        "text": s["text"],
                        "start": s["start"],
                        "gold": pair[0],
                        "predicted": pair[1],
                    }
                )
    # links
    affirmed = {
        s["id"]
        for s in gspans
        if s["label"] == "IVUS" and s["attrs"].get("assertion", "affirmed") == "affirmed"
    }
    gold_links = {
        (link["ivus"], link["vessel"]) for link in gold["links"] if link["ivus"] in affirmed
    }
    ivus_map, vessel_map = mapping_by_label["IVUS"], mapping_by_label["VESSEL"]
    pred_links = set()
    unmatched_links = 0
    for link in pred.facts.links:
        gi, gv = ivus_map.get(link.ivus), vessel_map.get(link.vessel)
        if gi is None or gv is None:
            unmatched_links += 1
            vessel = next(v for v in pred.facts.vessels if v.id == link.vessel)
            score.errors.append(
                {
                    "kind": "link-fp",
                    "text": vessel.span.text,
                    "start": vessel.span.start,
                    "basis": link.basis,
                }
            )
            continue
        pred_links.add((gi, gv))
    # several predicted IVUS mentions can map to one gold link; count distinct gold pairs
    score.links = Counts(
        len(pred_links & gold_links),
        len(pred_links - gold_links) + unmatched_links,
        len(gold_links - pred_links),
    )
    # mention level: which vessel mentions were examined by some affirmed IVUS, whichever IVUS
    # mention of the same event (list item, narrative, catheter name) the link starts from
    gold_linked = {gv for _, gv in gold_links}
    pred_linked = {
        vessel_map.get(link.vessel, f"unmatched:{link.vessel}") for link in pred.facts.links
    }
    score.linked_mentions = Counts(
        len(pred_linked & gold_linked),
        len(pred_linked - gold_linked),
        len(gold_linked - pred_linked),
    )
    for _, gv in sorted(pred_links - gold_links):
        score.errors.append(
            {"kind": "link-fp", "text": gold_by_id[gv]["text"], "start": gold_by_id[gv]["start"]}
        )
    for gi, gv in sorted(gold_links - pred_links):
        score.errors.append(
            {
                "kind": "link-fn",
                "text": gold_by_id[gv]["text"],
                "start": gold_by_id[gv]["start"],
                "ivus": gold_by_id[gi]["text"],
            }
        )
    # vessels
    gold_vessels = set(gold["vessels"])
    pred_vessels = {v["id"] for v in pred.result["vessels"]}
    score.vessels = Counts(
        len(gold_vessels & pred_vessels),
        len(pred_vessels - gold_vessels),
        len(gold_vessels - pred_vessels),
    )
    for vid in sorted(pred_vessels - gold_vessels):
        evidence = next(v for v in pred.result["vessels"] if v["id"] == vid)["evidence"]
        score.errors.append(
            {
                "kind": "vessel-fp",
                "vessel": vid,
                "evidence": [e["text"] for e in evidence if e["role"] == "vessel"][:3],
            }
        )
    for vid in sorted(gold_vessels - pred_vessels):
        score.errors.append({"kind": "vessel-fn", "vessel": vid})
    # codes
    want = gold["expected"][policy]
    got = pred.result["codes"]
    score.codes_gold = (want["37252"], want["37253"])
    score.codes_pred = (got["37252"], got["37253"])
    if not score.exact:
        score.errors.append({"kind": "codes", "gold": want, "predicted": got})
    # flags (set agreement per document)
    gold_flags = set(gold.get("flags", []))
    pred_flags = {f["code"] for f in pred.result["flags"]}
    score.flags = Counts(
        len(gold_flags & pred_flags), len(pred_flags - gold_flags), len(gold_flags - pred_flags)
    )
    for e in score.errors:
        e["document"] = gold["id"]
        if "start" in e:
            e["context"] = text[max(0, e["start"] - 60) : e["start"] + 60].replace("\n", " ")
    return score


# --- the corpus -------------------------------------------------------------------------------
def _sum(scores: Iterable[DocScore], get: Any) -> Counts:
    total = Counts()
    for s in scores:
        total.add(get(s))
    return total


def aggregate(scores: Sequence[DocScore]) -> dict[str, Any]:
    """Corpus-level figures for a list of document scores."""
    n = len(scores)
    gold = np.array([s.codes_gold for s in scores]) if n else np.zeros((0, 2))
    pred = np.array([s.codes_pred for s in scores]) if n else np.zeros((0, 2))
    unit_mae = (
        float(sum(mean_absolute_error(gold[:, k], pred[:, k]) for k in range(2))) if n else 0.0
    )
    pairs = [p for s in scores for p in s.assertion_pairs]
    assertion: dict[str, Any] = {"n": len(pairs)}
    if pairs:
        y_true, y_pred = zip(*pairs, strict=True)
        assertion["accuracy"] = round(float(accuracy_score(y_true, y_pred)), 4)
        assertion["labels"] = list(ASSERTIONS)
        assertion["confusion"] = confusion_matrix(y_true, y_pred, labels=list(ASSERTIONS)).tolist()
    return {
        "documents": n,
        "code_exact_match": round(sum(s.exact for s in scores) / n, 4) if n else 1.0,
        "unit_mae": round(unit_mae, 4),
        "vessel": _sum(scores, lambda s: s.vessels).prf(),
        "links": _sum(scores, lambda s: s.links).prf(),
        "linked_mentions": _sum(scores, lambda s: s.linked_mentions).prf(),
        "flags": _sum(scores, lambda s: s.flags).prf(),
        "assertion": assertion,
        "spans": {
            label: {
                "exact": _sum(scores, lambda s, lb=label: s.spans_exact[lb]).prf(),
                "overlap": _sum(scores, lambda s, lb=label: s.spans_overlap[lb]).prf(),
            }
            for label in LABELS
        },
    }


def bootstrap_intervals(
    scores: Sequence[DocScore], samples: int = BOOTSTRAP_SAMPLES
) -> dict[str, list[float]]:
    """95% percentile intervals of the headline figures, resampling documents."""
    if not scores:
        return {}
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n = len(scores)
    exact = np.array([s.exact for s in scores], dtype=float)
    mae = np.array(
        [
            abs(s.codes_gold[0] - s.codes_pred[0]) + abs(s.codes_gold[1] - s.codes_pred[1])
            for s in scores
        ],
        dtype=float,
    )
    counts = {
        "vessel_f1": np.array(
            [(s.vessels.tp, s.vessels.fp, s.vessels.fn) for s in scores], dtype=float
        ),
        "link_f1": np.array([(s.links.tp, s.links.fp, s.links.fn) for s in scores], dtype=float),
        "linked_mention_f1": np.array(
            [(s.linked_mentions.tp, s.linked_mentions.fp, s.linked_mentions.fn) for s in scores],
            dtype=float,
        ),
        "span_overlap_f1": np.array(
            [
                (
                    sum(c.tp for c in s.spans_overlap.values()),
                    sum(c.fp for c in s.spans_overlap.values()),
                    sum(c.fn for c in s.spans_overlap.values()),
                )
                for s in scores
            ],
            dtype=float,
        ),
    }
    out: dict[str, list[float]] = {"code_exact_match": [], "unit_mae": []}
    draws: dict[str, list[float]] = {k: [] for k in ("code_exact_match", "unit_mae", *counts)}
    for _ in range(samples):
        idx = rng.integers(0, n, n)
        draws["code_exact_match"].append(float(exact[idx].mean()))
        draws["unit_mae"].append(float(mae[idx].mean()))
        for key, arr in counts.items():
            tp, fp, fn = arr[idx].sum(axis=0)
            draws[key].append(prf(int(tp), int(fp), int(fn))["f1"])
    for key, values in draws.items():
        low, high = np.percentile(values, [2.5, 97.5])
        out[key] = [round(float(low), 4), round(float(high), 4)]
    return out


def evaluate(
    gold_docs: Sequence[dict[str, Any]], predictions: Sequence[Prediction], policy: str
) -> dict[str, Any]:
    """The full report: overall figures, intervals, per tag, per source, and every error."""
    scores = [score_document(g, p, policy) for g, p in zip(gold_docs, predictions, strict=True)]
    report = {"policy": policy, **aggregate(scores)}
    report["intervals"] = bootstrap_intervals(scores)
    tags = sorted({t for s in scores for t in s.tags})
    report["by_tag"] = {
        tag: _brief(aggregate([s for s in scores if tag in s.tags])) for tag in tags
    }
    report["by_source"] = {
        source: _brief(aggregate([s for s in scores if s.source == source]))
        for source in sorted({s.source for s in scores})
    }
    report["errors"] = [e for s in scores for e in s.errors]
    return report


def _brief(agg: dict[str, Any]) -> dict[str, Any]:
    return {
        "documents": agg["documents"],
        "code_exact_match": agg["code_exact_match"],
        "unit_mae": agg["unit_mae"],
        "vessel_f1": agg["vessel"]["f1"],
        "link_f1": agg["links"]["f1"],
    }


# --- inter-annotator agreement --------------------------------------------------------------------
def agreement(
    first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]], policy: str
) -> dict[str, Any]:
    """Agreement of two annotations of the same notes (matched by text): code exact match, vessel
    and span F1 (one annotator taken as reference; F1 is symmetric), linked vessel mentions, and
    Cohen's kappa over the assertions of IVUS spans both marked (scikit-learn)."""
    from sklearn.metrics import cohen_kappa_score

    by_text = {doc["text"]: doc for doc in second}
    pairs = [(doc, by_text[doc["text"]]) for doc in first if doc["text"] in by_text]
    spans = {label: Counts() for label in LABELS}
    vessels, linked = Counts(), Counts()
    exact = 0
    assertion_pairs: list[tuple[str, str]] = []
    disagreements = []
    for a, b in pairs:
        codes_a, codes_b = a["expected"][policy], b["expected"][policy]
        exact += codes_a == codes_b
        if codes_a != codes_b:
            disagreements.append({"document": a["id"], "first": codes_a, "second": codes_b})
        va, vb = set(a["vessels"]), set(b["vessels"])
        vessels.add(Counts(len(va & vb), len(vb - va), len(va - vb)))
        maps = {}
        for label in LABELS:
            sa = [s for s in a["spans"] if s["label"] == label]
            sb = [s for s in b["spans"] if s["label"] == label]
            mapping = match_overlap(sa, sb)
            maps[label] = mapping
            spans[label].add(Counts(len(mapping), len(sb) - len(mapping), len(sa) - len(mapping)))
        by_id_a = {s["id"]: s for s in a["spans"]}
        by_id_b = {s["id"]: s for s in b["spans"]}
        for pid, gid in maps["IVUS"].items():
            assertion_pairs.append(
                (
                    by_id_a[gid]["attrs"].get("assertion", "affirmed"),
                    by_id_b[pid]["attrs"].get("assertion", "affirmed"),
                )
            )

        def linked_ids(doc: dict[str, Any]) -> set[str]:
            spans_by_id = {s["id"]: s for s in doc["spans"]}
            return {
                link["vessel"]
                for link in doc["links"]
                if spans_by_id[link["ivus"]]["attrs"].get("assertion", "affirmed") == "affirmed"
            }

        la = linked_ids(a)
        lb = {maps["VESSEL"].get(v, f"only-second:{v}") for v in linked_ids(b)}
        linked.add(Counts(len(la & lb), len(lb - la), len(la - lb)))
        del by_id_b
    kappa = None
    if assertion_pairs:
        y_a, y_b = zip(*assertion_pairs, strict=True)
        kappa = (
            round(float(cohen_kappa_score(y_a, y_b)), 4) if len(set(y_a) | set(y_b)) > 1 else 1.0
        )
    return {
        "documents": len(pairs),
        "policy": policy,
        "code_exact_match": round(exact / len(pairs), 4) if pairs else None,
        "vessel": vessels.prf(),
        "linked_mentions": linked.prf(),
        "spans_overlap": {label: counts.prf() for label, counts in spans.items()},
        "assertion_kappa": kappa,
        "assertion_pairs": len(assertion_pairs),
        "code_disagreements": disagreements,
    }
