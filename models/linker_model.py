"""Loading and scoring the learned vessel linker's weights (``models/weights/linker.json``).

Two modes (``model``: without the rule linker's decisions, ``hybrid``: with them), each with two
heads: the **mention** head (is this vessel mention examined by some affirmed IVUS mention?,
over :func:`models.linker_spec.mention_feature_names`) and the **pair** head (did this IVUS
mention examine it?, over :func:`models.linker_spec.feature_names`). A mention whose mention
probability reaches its threshold is linked to every candidate IVUS mention whose pair
probability reaches the pair threshold, or, when none does, to its most probable one
(:meth:`LinkerHeads.decide`); other mentions get no link.

The weights are JSON, never pickle: per head the feature names it reads, the standard scaler
(mean, scale), the logistic regression coefficients and intercept, the Platt sigmoid that
calibrates its scores (Platt, "Probabilistic outputs for support vector machines", 1999, as
scikit-learn's ``CalibratedClassifierCV(method="sigmoid")`` fits it) and the threshold; then the
feature specification, the library versions and the digests of the training data.

Scoring needs only numpy: ``p = 1 / (1 + exp(a * (w · (x - mean) / scale + b0) + b))``.
Loading validates the file (schema, shapes, finite numbers, the feature specification this code
computes) and fails with a numbered error (E201-E205) before any note is coded.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ModelFileError
from .linker_spec import feature_names, mention_feature_names, spec_digest

WEIGHTS_SCHEMA = "ivus-coder.linker-weights/1"
LINKER_MODES = ("rules", "model", "hybrid")
LEARNED_MODES = ("model", "hybrid")
LEVELS = ("mention", "pair")
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "linker.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Calibration(_Strict):
    method: str = Field(pattern=r"^sigmoid$")
    a: float
    b: float


class HeadFile(_Strict):
    features: tuple[str, ...] = Field(min_length=1)
    scaler_mean: tuple[float, ...]
    scaler_scale: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    calibration: Calibration
    threshold: float = Field(gt=0.0, lt=1.0)
    threshold_without_rule_link: float | None = Field(default=None, gt=0.0, lt=1.0)
    hyperparameters: dict[str, Any]


class WeightsFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.linker-weights/1$")
    about: str
    feature_spec: dict[str, Any]
    heads: dict[str, dict[str, HeadFile]]
    training: dict[str, Any]
    versions: dict[str, str]


@dataclass(frozen=True, slots=True)
class LinkerHead:
    """One calibrated logistic regression over a subset of the pair or mention features."""

    mode: str
    level: str
    features: tuple[str, ...]
    columns: np.ndarray  # indices into the full feature vector (spec order)
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    a: float
    b: float
    threshold: float
    threshold_without_rule_link: float | None = None

    def decision(self, matrix: np.ndarray) -> np.ndarray:
        """Uncalibrated scores of rows of full feature vectors."""
        z = (matrix[:, self.columns] - self.mean) / self.scale
        return z @ self.coef + self.intercept

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated link probabilities of rows of full feature vectors."""
        if matrix.shape[0] == 0:
            return np.zeros(0)
        scores = self.a * self.decision(matrix) + self.b
        return 1.0 / (1.0 + np.exp(np.clip(scores, -500.0, 500.0)))

    def contributions(self, row: np.ndarray, top: int = 5) -> list[tuple[str, float]]:
        """The features that moved this pair's score most (name, signed contribution)."""
        z = (row[self.columns] - self.mean) / self.scale
        parts = z * self.coef
        order = np.argsort(-np.abs(parts), kind="stable")[:top]
        return [(self.features[i], round(float(parts[i]), 3)) for i in order if parts[i]]


NEAREST = feature_names().index("nearest_affirmed_ivus")
GAP = feature_names().index("log_token_gap")
RULE_LINKED_MENTION = feature_names().index("rule_vessel_linked_any")


def mention_groups(vessels: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct vessel mentions of candidate rows (first-appearance order) and each row's
    index among them."""
    order: dict[str, int] = {}
    index = np.array([order.setdefault(v, len(order)) for v in vessels], dtype=np.intp)
    return list(order), index


def mention_matrix(pairs: np.ndarray, index: np.ndarray, count: int) -> np.ndarray:
    """Mention feature vectors from pair feature vectors: per mention the column-wise maximum
    over its pairs (``any:``) and the pair of its nearest IVUS mention (``nearest:``; the pair
    flagged ``nearest_affirmed_ivus``, else the smallest token gap, else the first)."""
    width = pairs.shape[1]
    out = np.zeros((count, 2 * width))
    if not count:
        return out
    out[:, :width] = -np.inf
    np.maximum.at(out[:, :width], index, pairs)
    best: dict[int, tuple[float, float, int]] = {}
    for row, mention in enumerate(index.tolist()):
        key = (-pairs[row, NEAREST], pairs[row, GAP], row)
        if mention not in best or key < best[mention]:
            best[mention] = key
    for mention, (_, _, row) in best.items():
        out[mention, width:] = pairs[row]
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The learned linker's decision over one document's candidate pairs."""

    pair_probabilities: np.ndarray
    mention_probabilities: np.ndarray  # per row: the probability of the row's mention
    linked: np.ndarray  # per row: bool


@dataclass(frozen=True, slots=True)
class LinkerHeads:
    """The mention and pair heads of one mode. In ``hybrid`` mode a mention the rule linker did
    not link needs ``threshold_without_rule_link`` (when the weights set one) to be linked."""

    mode: str
    mention: LinkerHead
    pair: LinkerHead

    def decide(self, pairs: np.ndarray, vessels: list[str]) -> Decision:
        """Which candidate pairs to link (rows of pair features, the vessel mention of each)."""
        n = pairs.shape[0]
        if not n:
            empty = np.zeros(0)
            return Decision(empty, empty, np.zeros(0, dtype=bool))
        names, index = mention_groups(vessels)
        p_pair = self.pair.probabilities(pairs)
        p_mention = self.mention.probabilities(mention_matrix(pairs, index, len(names)))
        linked = np.zeros(n, dtype=bool)
        for m in range(len(names)):
            rows = np.flatnonzero(index == m)
            threshold = self.mention.threshold
            adding = self.mode == "hybrid" and not pairs[rows[0], RULE_LINKED_MENTION]
            if adding and self.mention.threshold_without_rule_link is not None:
                threshold = self.mention.threshold_without_rule_link  # a vessel the rules left
            if p_mention[m] < threshold:
                continue
            chosen = rows[p_pair[rows] >= self.pair.threshold]
            if not len(chosen):
                chosen = rows[[int(np.argmax(p_pair[rows]))]]  # first of equals
            linked[chosen] = True
        return Decision(p_pair, p_mention[index], linked)


@dataclass(frozen=True, slots=True)
class LinkerModel:
    """The loaded weights file."""

    path: str
    digest: str
    heads: dict[str, LinkerHeads]
    training: dict[str, Any]
    versions: dict[str, str]

    def head(self, mode: str) -> LinkerHeads:
        if mode not in self.heads:
            raise ModelFileError("E204", path=self.path, mode=mode, known=sorted(self.heads))
        return self.heads[mode]


def weights_digest(raw: bytes) -> str:
    """``<sha256[:10]>`` of a weights file's bytes: part of the extractor version."""
    return hashlib.sha256(raw).hexdigest()[:10]


def parse_weights(raw: bytes, where: str) -> LinkerModel:
    """Validate a weights file's bytes and build the scorer (E201-E203 when unusable)."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError("E201", path=where, detail=str(exc)) from exc
    if not isinstance(data, dict):
        raise ModelFileError("E201", path=where, detail="the top level is not an object")
    try:
        spec = WeightsFile.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise ModelFileError("E202", path=where, detail=detail) from exc
    expected = spec_digest()
    found = spec.feature_spec.get("digest")
    if found != expected:
        raise ModelFileError("E203", path=where, found=found, expected=expected)
    heads = {}
    for mode, levels in sorted(spec.heads.items()):
        if mode not in LEARNED_MODES:
            raise ModelFileError(
                "E202",
                path=where,
                detail=f"heads.{mode}: unknown mode; modes are {list(LEARNED_MODES)}",
            )
        if sorted(levels) != sorted(LEVELS):
            raise ModelFileError(
                "E202", path=where, detail=f"heads.{mode}: needs exactly {list(LEVELS)}"
            )
        heads[mode] = LinkerHeads(
            mode,
            build_head(mode, "mention", levels["mention"], where),
            build_head(mode, "pair", levels["pair"], where),
        )
    if not heads:
        raise ModelFileError("E202", path=where, detail="heads: no head")
    return LinkerModel(where, weights_digest(raw), heads, dict(spec.training), dict(spec.versions))


def level_names(level: str) -> tuple[str, ...]:
    return mention_feature_names() if level == "mention" else feature_names()


def build_head(mode: str, level: str, head: HeadFile, where: str) -> LinkerHead:
    """A validated head's scorer (E202 when its arrays do not fit its features)."""
    index = {name: i for i, name in enumerate(level_names(level))}

    def bad(detail: str) -> ModelFileError:
        return ModelFileError("E202", path=where, detail=f"heads.{mode}.{level}: {detail}")

    n = len(head.features)
    for name in ("scaler_mean", "scaler_scale", "coefficients"):
        if len(getattr(head, name)) != n:
            raise bad(f"{name} has {len(getattr(head, name))} values for {n} features")
    unknown = [f for f in head.features if f not in index]
    if unknown:
        raise bad(f"unknown features {unknown[:5]}")
    if len(set(head.features)) != n:
        raise bad("a feature is listed twice")
    numbers = [
        *head.scaler_mean,
        *head.scaler_scale,
        *head.coefficients,
        head.intercept,
        head.calibration.a,
        head.calibration.b,
    ]
    if not all(math.isfinite(x) for x in numbers):
        raise bad("a number is not finite")
    if any(s <= 0 for s in head.scaler_scale):
        raise bad("scaler_scale must be positive")
    return LinkerHead(
        mode=mode,
        level=level,
        features=head.features,
        columns=np.array([index[f] for f in head.features], dtype=np.intp),
        mean=np.array(head.scaler_mean, dtype=np.float64),
        scale=np.array(head.scaler_scale, dtype=np.float64),
        coef=np.array(head.coefficients, dtype=np.float64),
        intercept=float(head.intercept),
        a=float(head.calibration.a),
        b=float(head.calibration.b),
        threshold=float(head.threshold),
        threshold_without_rule_link=head.threshold_without_rule_link,
    )


def load_linker_model(path: str | Path | None = None) -> LinkerModel:
    """The weights at ``path`` (default: the shipped ``models/weights/linker.json``)."""
    if path is None:
        return _load_default()
    return _load(str(Path(path)))


@cache
def _load_default() -> LinkerModel:
    return _load(str(DEFAULT_WEIGHTS))


def _load(path: str) -> LinkerModel:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError("E201", path=path, detail=str(exc)) from exc
    where = "models/weights/linker.json" if Path(path) == DEFAULT_WEIGHTS else path
    return parse_weights(raw, where)


def check_mode(mode: str) -> str:
    """``mode`` if it names a linker (E205 otherwise)."""
    if mode not in LINKER_MODES:
        raise ModelFileError("E205", mode=mode, known=list(LINKER_MODES))
    return mode
