"""Training the learned vessel linker: examples, grouped folds, calibrated logistic regression,
deterministic JSON weights, and cross-validated pair-level figures.

The examples are the candidate (IVUS, vessel) pairs of the gold documents with their feature
vectors (computed by ``nlp/learned_linker.py``, which this module does not import) and their
labels. Each head is a scikit-learn ``Pipeline(StandardScaler, LogisticRegression)`` wrapped in
``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` whose calibration folds group the
pairs by document, so that no note is both fitted and calibrated on (Platt, 1999). The fitted
numbers are rounded to ``SIGNIFICANT_DIGITS`` and written as JSON with a fixed layout: the same
corpus and code give the same bytes (the ``train-linker`` test checks it).

scikit-learn is imported inside the functions that fit; the examples
(:mod:`models.linker_examples`) and scoring (:mod:`models.linker_model`) need numpy only.
"""

from __future__ import annotations

import itertools
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .evaluation import prf
from .linker_examples import TrainingSet, fmt
from .linker_model import (
    LEARNED_MODES,
    LEVELS,
    WEIGHTS_SCHEMA,
    level_names,
)
from .linker_spec import rule_feature, spec_digest, spec_document

SEED = 20261127
# Chosen by grouped 5-fold cross-validation on train+dev, never on test (models/CARD.md,
# "Training"): C over {0.03, 0.1, 0.3, 1} by pair-level F1 and log loss; the mention thresholds
# by the end-to-end figures of 'ivus-coder train-linker --cv 5 --sweep' (code exact match, then
# vessel F1, then link F1). A hybrid mention the rule linker did not link needs 0.9 to be
# linked, one it did link is kept above 0.3: the model overrides the rules only when sure.
HYPERPARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "model": {
        "mention": {"C": 0.1, "threshold": 0.7},
        "pair": {"C": 0.1, "threshold": 0.5},
    },
    "hybrid": {
        "mention": {"C": 0.1, "threshold": 0.3, "threshold_without_rule_link": 0.9},
        "pair": {"C": 0.1, "threshold": 0.5},
    },
}
CALIBRATION_FOLDS = 5
MAX_ITER = 20000
TOL = 1e-10


def _round(value: float) -> float:
    rounded = float(fmt(value))
    return 0.0 if rounded == 0 else rounded  # no "-0.0" in the file


def head_columns(mode: str, level: str = "pair") -> list[int]:
    """The feature columns a head reads: all but the ``rule_*`` ones for ``model``."""
    names = level_names(level)
    return [i for i, n in enumerate(names) if mode == "hybrid" or not rule_feature(n)]


def grouped_folds(groups: np.ndarray, k: int, seed: int = SEED) -> list[tuple[np.ndarray, ...]]:
    """``k`` (train, test) row-index splits with every document's pairs on one side: the
    documents (in sorted order) are shuffled with a fixed seed and dealt round-robin."""
    unique = np.unique(groups)
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {int(unique[j]): pos % k for pos, j in enumerate(order)}
    assignment = np.array([fold_of[int(g)] for g in groups], dtype=np.int64)
    rows = np.arange(len(groups))
    return [(rows[assignment != f], rows[assignment == f]) for f in range(k)]


def fit_head(
    training: TrainingSet, mode: str, level: str, hyper: dict[str, Any] | None = None
) -> dict:
    """Fit one calibrated head and return it as the weights file stores it."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    hyper = {**HYPERPARAMETERS[mode][level], **(hyper or {})}
    x, y, groups = training.arrays(level)
    columns = head_columns(mode, level)
    x = x[:, columns]
    folds = grouped_folds(groups, CALIBRATION_FOLDS)
    base = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "logistic",
                LogisticRegression(C=hyper["C"], max_iter=MAX_ITER, tol=TOL, solver="lbfgs"),
            ),
        ]
    )
    calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=False)
    with threadpool_limits(limits=1):  # the same sums in the same order on every run
        calibrated.fit(x, y)
    fitted = calibrated.calibrated_classifiers_[0]
    scaler = fitted.estimator.named_steps["scale"]
    logistic = fitted.estimator.named_steps["logistic"]
    sigmoid = fitted.calibrators[0]
    names = level_names(level)
    return {
        "features": [names[i] for i in columns],
        "scaler_mean": [_round(v) for v in scaler.mean_],
        "scaler_scale": [_round(v) for v in scaler.scale_],
        "coefficients": [_round(v) for v in logistic.coef_[0]],
        "intercept": _round(logistic.intercept_[0]),
        "calibration": {"method": "sigmoid", "a": _round(sigmoid.a_), "b": _round(sigmoid.b_)},
        "threshold": float(hyper["threshold"]),
        **(
            {"threshold_without_rule_link": float(hyper["threshold_without_rule_link"])}
            if hyper.get("threshold_without_rule_link") is not None
            else {}
        ),
        "hyperparameters": {
            "estimator": "LogisticRegression(lbfgs, L2)",
            "C": hyper["C"],
            "max_iter": MAX_ITER,
            "tol": TOL,
            "calibration": f"CalibratedClassifierCV(sigmoid, ensemble=False, "
            f"{CALIBRATION_FOLDS} folds grouped by document)",
            "seed": SEED,
        },
    }


def fit_heads(training: TrainingSet, hyper: dict[str, dict] | None = None) -> dict[str, dict]:
    """The mention and pair heads of both modes (``model``, ``hybrid``) fitted on ``training``;
    ``hyper`` overrides :data:`HYPERPARAMETERS` (``{mode: {level: {...}}}``)."""
    hyper = hyper or {}
    return {
        mode: {
            level: fit_head(training, mode, level, hyper.get(mode, {}).get(level))
            for level in LEVELS
        }
        for mode in LEARNED_MODES
    }


def weights_document(
    heads: dict[str, dict], training: TrainingSet, splits: Sequence[str]
) -> dict[str, Any]:
    """The whole weights document: the heads, the feature specification, versions, digests."""
    import sklearn

    return {
        "schema": WEIGHTS_SCHEMA,
        "about": "Learned vessel linker of IVUS Coder (nlp/learned_linker.py): calibrated "
        "logistic regressions over candidate (IVUS mention, vessel mention) pairs. 'model' "
        "reads no rule-linker decision, 'hybrid' does. Written by 'ivus-coder train-linker'; "
        "see models/CARD.md.",
        "feature_spec": {"digest": spec_digest(), **spec_document()},
        "heads": heads,
        "training": {
            "splits": list(splits),
            **training.summary(),
            "corpus_digest": training.corpus_digest,
            "examples_digest": training.digest(),
            "extractor_version": training.extractor_version,
        },
        "versions": {
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "python": ".".join(platform.python_version_tuple()[:2]),
        },
    }


def build_weights(
    training: TrainingSet, splits: Sequence[str], hyper: dict[str, dict] | None = None
) -> dict[str, Any]:
    """Fit both heads on ``training`` and return the weights document."""
    return weights_document(fit_heads(training, hyper), training, splits)


def dumps_weights(weights: dict[str, Any]) -> str:
    """The weights as JSON text with a fixed layout (keys in insertion order, two-space indent,
    one number per line, a final newline)."""
    return json.dumps(weights, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- cross-validation --------------------------------------------------------------------------
@dataclass(slots=True)
class CrossValidation:
    """Out-of-fold decisions and pair probabilities per mode (one value per candidate pair, in
    :meth:`TrainingSet.arrays` order), each fold's heads, and each document's fold."""

    linked: dict[str, np.ndarray]
    pair_probabilities: dict[str, np.ndarray]
    fold_heads: list[dict[str, dict]]
    doc_fold: dict[str, int]


def heads_from_document(heads: dict[str, dict], where: str) -> dict[str, Any]:
    """Scorers (:class:`models.linker_model.LinkerHeads`) of fitted heads."""
    from .linker_model import HeadFile, LinkerHeads, build_head

    return {
        mode: LinkerHeads(
            mode,
            *(
                build_head(mode, level, HeadFile.model_validate(levels[level]), where)
                for level in ("mention", "pair")
            ),
        )
        for mode, levels in heads.items()
    }


def decide(training: TrainingSet, scorers: dict[str, Any], doc_ids: set[str]) -> dict:
    """Per mode, per document in ``doc_ids``: the decision over its candidate pairs."""
    out: dict[str, dict[str, Any]] = {mode: {} for mode in scorers}
    for d in training.docs:
        if d.doc_id not in doc_ids:
            continue
        vessels = [k.split(">", 1)[1] for k in d.keys]
        for mode, scorer in scorers.items():
            out[mode][d.doc_id] = scorer.decide(d.matrix, vessels)
    return out


def cross_validate(
    training: TrainingSet, k: int = 5, hyper: dict[str, dict] | None = None
) -> CrossValidation:
    """Grouped k-fold cross-validation: each fold's heads are fitted (with their own grouped
    calibration folds) on the other folds' documents and decide this fold's pairs."""
    _, _, groups = training.arrays()
    folds = grouped_folds(groups, k, SEED + 1)
    fold_heads: list[dict[str, dict]] = []
    doc_fold: dict[str, int] = {}
    decisions: dict[str, dict[str, Any]] = {mode: {} for mode in LEARNED_MODES}
    for f, (train_rows, test_rows) in enumerate(folds):
        train_docs = {training.docs[int(g)].doc_id for g in np.unique(groups[train_rows])}
        test_docs = {training.docs[int(g)].doc_id for g in np.unique(groups[test_rows])}
        for doc_id in test_docs:
            doc_fold[doc_id] = f
        heads = fit_heads(training.subset(train_docs), hyper)
        fold_heads.append(heads)
        for mode, by_doc in decide(
            training, heads_from_document(heads, "cross-validation"), test_docs
        ).items():
            decisions[mode].update(by_doc)
    linked: dict[str, np.ndarray] = {}
    pair_probabilities: dict[str, np.ndarray] = {}
    for mode in LEARNED_MODES:
        rows = [decisions[mode][d.doc_id] for d in training.docs if len(d.keys)]
        linked[mode] = np.concatenate([r.linked for r in rows]).astype(float)
        pair_probabilities[mode] = np.concatenate([r.pair_probabilities for r in rows])
    # documents without candidates (stopped by the IVUS gate) are dealt to folds in turn
    missing = [d.doc_id for d in training.docs if d.doc_id not in doc_fold]
    for j, doc_id in enumerate(missing):
        doc_fold[doc_id] = j % k
    return CrossValidation(linked, pair_probabilities, fold_heads, doc_fold)


def pair_counts(
    training: TrainingSet, probabilities: np.ndarray, threshold: float
) -> dict[str, float]:
    """Pair-level link P/R/F1 as ``ivus-coder evaluate`` counts them, from candidate scores."""
    tp = fp = fn = 0
    row = 0
    for d in training.docs:
        chosen = probabilities[row : row + len(d.keys)] >= threshold
        row += len(d.keys)
        picked = [pair for pair, keep in zip(d.gold_pairs, chosen, strict=True) if keep]
        t, p, n = _count(picked, d.gold_links)
        tp, fp, fn = tp + t, fp + p, fn + n
    return prf(tp, fp, fn)


def rule_pair_counts(training: TrainingSet) -> dict[str, float]:
    """The rule linker's pair-level link P/R/F1 on the same documents."""
    tp = fp = fn = 0
    for d in training.docs:
        t, p, n = _count(list(d.rule_pairs), d.gold_links)
        tp, fp, fn = tp + t, fp + p, fn + n
    return prf(tp, fp, fn)


def _count(picked: list[str], gold_links: Sequence[str]) -> tuple[int, int, int]:
    unmatched = sum(1 for p in picked if not p)
    mapped = {p for p in picked if p}
    gold = set(gold_links)
    return len(mapped & gold), len(mapped - gold) + unmatched, len(gold - mapped)


def log_loss(training: TrainingSet, probabilities: np.ndarray) -> float:
    _, y, _ = training.arrays()
    p = np.clip(probabilities, 1e-12, 1 - 1e-12)
    return round(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), 4) if len(y) else 0.0


def brier(training: TrainingSet, probabilities: np.ndarray) -> float:
    _, y, _ = training.arrays()
    return round(float(np.mean((probabilities - y) ** 2)), 4) if len(y) else 0.0


def reliability(
    training: TrainingSet, probabilities: np.ndarray, bins: int = 5
) -> list[dict[str, float]]:
    """Mean predicted probability against the observed link rate, per probability bin."""
    _, y, _ = training.arrays()
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        mask = (probabilities >= lo) & ((probabilities < hi) if hi < 1 else (probabilities <= hi))
        if mask.any():
            out.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "pairs": int(mask.sum()),
                    "mean_p": round(float(probabilities[mask].mean()), 3),
                    "observed": round(float(y[mask].mean()), 3),
                }
            )
    return out
