"""The training examples of the learned vessel linker: candidate pairs with their features
and labels, per gold document (pure numpy: importing this needs no scikit-learn)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .linker_model import level_names, mention_groups, mention_matrix

SIGNIFICANT_DIGITS = 9


@dataclass(frozen=True, slots=True)
class DocExamples:
    """The candidate pairs of one gold document.

    ``keys`` are "ivus>vessel" ids of the predicted mentions; ``gold_pairs`` the gold ids the
    two ends overlap-match ("" when an end matches nothing); ``gold_links`` every gold link of
    an affirmed IVUS mention (reachable or not); ``rule_pairs`` the gold ids of the rule
    linker's links ("" when unmatched), for the rules' own figures; ``matchable_links`` the gold
    links whose two ends some predicted mention matches (an affirmed IVUS mention), for the
    recall of the candidate window itself.
    """

    doc_id: str
    split: str
    keys: tuple[str, ...]
    gold_pairs: tuple[str, ...]
    labels: np.ndarray
    matrix: np.ndarray
    gold_links: tuple[str, ...]
    rule_links: tuple[str, ...] = ()
    rule_pairs: tuple[str, ...] = ()
    matchable_links: tuple[str, ...] = ()


@dataclass(slots=True)
class TrainingSet:
    """Examples of several documents, sorted by document id."""

    docs: list[DocExamples] = field(default_factory=list)
    corpus_digest: str = ""
    extractor_version: str = ""

    def __post_init__(self) -> None:
        self.docs = sorted(self.docs, key=lambda d: d.doc_id)

    def subset(self, doc_ids: set[str]) -> TrainingSet:
        return TrainingSet(
            [d for d in self.docs if d.doc_id in doc_ids],
            self.corpus_digest,
            self.extractor_version,
        )

    def arrays(self, level: str = "pair") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feature matrix, labels and the document index of every row: one row per candidate
        pair (``pair``), or per vessel mention with candidates (``mention``; positive when one
        of its pairs is)."""
        xs, ys, gs = [], [], []
        for i, d in enumerate(self.docs):
            if not len(d.keys):
                continue
            if level == "pair":
                x, y = d.matrix, d.labels
            else:
                names, index = mention_groups([k.split(">", 1)[1] for k in d.keys])
                x = mention_matrix(d.matrix, index, len(names))
                y = np.zeros(len(names), dtype=np.int64)
                np.maximum.at(y, index, d.labels)
            xs.append(x)
            ys.append(y)
            gs.append(np.full(len(y), i, dtype=np.int64))
        if not xs:
            width = len(level_names(level))
            return np.zeros((0, width)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.vstack(xs), np.concatenate(ys).astype(np.int64), np.concatenate(gs)

    def digest(self) -> str:
        """sha256[:16] of every document id, pair, label and (rounded) feature value."""
        h = hashlib.sha256()
        for d in self.docs:
            h.update(d.doc_id.encode())
            for key, label, row in zip(d.keys, d.labels, d.matrix, strict=True):
                h.update(f"{key}:{int(label)}:".encode())
                h.update(",".join(fmt(v) for v in row).encode())
            h.update("|".join(d.gold_links).encode())
        return h.hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        _, y, _ = self.arrays()
        gold = sum(len(d.gold_links) for d in self.docs)
        reachable = sum(len(set(d.gold_links) & set(d.gold_pairs)) for d in self.docs)
        outside = sum(len(set(d.rule_links) - set(d.keys)) for d in self.docs)
        matchable = sum(len(d.matchable_links) for d in self.docs)
        in_window = sum(len(set(d.matchable_links) & set(d.gold_pairs)) for d in self.docs)
        return {
            "documents": len(self.docs),
            "candidates": len(y),
            "positives": int(y.sum()),
            "gold_links": gold,
            "candidate_recall": round(reachable / gold, 4) if gold else 1.0,
            "window_recall": round(in_window / matchable, 4) if matchable else 1.0,
            "rule_links_outside_candidates": outside,
        }


def corpus_digest(documents: Sequence[dict[str, Any]]) -> str:
    """sha256[:16] of the gold documents (canonical JSON, sorted by id)."""
    h = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d["id"]):
        h.update(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def fmt(value: float) -> str:
    return format(float(value), f".{SIGNIFICANT_DIGITS}g")
