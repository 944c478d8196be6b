"""The learned vessel linker: a calibrated logistic regression over (IVUS, vessel) pairs.

Runs after the rule linker (``ivus_linker``, :mod:`nlp.linker`) and rewrites ``state.links``:

1. **Candidates.** Every affirmed IVUS mention is paired with every vessel mention of its
   section from ``WINDOW_BACK`` linking units before it to ``WINDOW_FORWARD`` after it, and with
   the vessel mentions of an IVUS findings section up to ``FINDINGS_FORWARD`` units after it
   (:mod:`models.linker_spec`; on the train split this window holds every gold link).
2. **Features.** Transparent, named features computed read-only from the Doc and the state the
   earlier components left (:func:`DocFeatures.row`): token and unit distance, same sentence /
   clause / comma segment / line / paragraph / section, the sections, the vessel's role from the
   rules, the form of the IVUS mention, the IVUS and vessel mentions in between, cue words
   between them and in the vessel's clause, findings and pathology near the vessel, extent
   membership, other modalities and angiography in the vessel's segment, and — for the
   ``hybrid`` head only — whether the rule linker linked the pair and on which basis.
3. **Decision.** A mention head decides whether each vessel mention was examined at all, a
   pair head which of its candidate IVUS mentions examined it (:meth:`models.linker_model.
   LinkerHeads.decide`). The basis of a link reads ``model p=0.93 mention p=0.97``; in
   ``hybrid`` mode a link the rule linker made too keeps the rule's basis (``same-sentence``...),
   and a rule link outside the candidate window is kept as it is (the window is the model's).
4. **Findings.** IVUS findings are attributed again to the linked vessels (the rule linker's
   nearest-vessel-of-the-clause helper, :func:`nlp.linker._attribute`).

Logistic regression with Platt scaling: Platt, "Probabilistic outputs for support vector
machines and comparisons to regularized likelihood methods", 1999. The training set, the
cross-validation and the weights are built by :mod:`models.linker_training`; the command is
``ivus-coder train-linker``. Same weights, same text: same links.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from models import linker_spec as spec
from models.linker_examples import DocExamples, TrainingSet, corpus_digest
from models.linker_model import LEARNED_MODES, Decision, LinkerHeads, LinkerModel, load_linker_model

from .linker import _attribute, _Clauses
from .rules_io import cues
from .sentences import LIST_MARKER
from .state import State, Target, VMention, state_of

FEATURES = spec.feature_names()
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURES)}
LEXICON_SETS = {name: frozenset(words) for name, words in spec.LEXICONS.items()}
PREVIOUS_SETS = {name: frozenset(words) for name, words in spec.PREVIOUS_WORDS.items()}
DETERMINER_SET = frozenset(spec.DETERMINERS)
LIST_GLUE_SET = frozenset(spec.LIST_GLUE)
REFERENCE_PHRASES = tuple(tuple(p.split()) for p in spec.REFERENCE_PHRASES)
ANGIO_PROCEDURES = frozenset({"angiography", "venography"})
TREATMENT_PROCEDURES = frozenset(
    {
        "angioplasty",
        "stent",
        "atherectomy",
        "thrombectomy",
        "thrombolysis",
        "endograft",
        "embolization",
    }
)
HEADING_UNIT_TOKENS = 6
LIST_PUNCT = frozenset({"-", "*", "•", "·", "▪", "–", "—", "(", ")", ".", ":"})


def _log(n: float) -> float:
    return math.log1p(max(n, 0))


def _prefix(flags: Iterable[bool]) -> np.ndarray:
    """Running counts: ``out[j]`` is how many of the first ``j`` flags are true."""
    values = np.fromiter(flags, dtype=np.int64)
    out = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out


def _unit_bucket(d: int) -> str:
    if d < 0:
        return "before"
    if d <= 2:
        return str(d)
    return "3-5" if d <= 5 else "6+"


@dataclass(slots=True)
class _Ranges:
    """First and last token of each clause / segment / unit / line."""

    first: dict[int, int]
    last: dict[int, int]

    @classmethod
    def of(cls, index: Sequence[int]) -> _Ranges:
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for i, key in enumerate(index):
            first.setdefault(key, i)
            last[key] = i + 1
        return cls(first, last)


class DocFeatures:
    """What the features ask about one document, computed once; read-only on Doc and state."""

    def __init__(self, doc: Doc, state: State) -> None:
        self.doc = doc
        self.state = state
        n = len(doc)
        lower = state.lower
        self.n = n
        self.texts = [t.text for t in doc]
        # lines: a token holding a line break starts the next line
        texts = self.texts
        breaks = [t.is_space and "\n" in t.text for t in doc]
        self.line_of = [0] * n
        line_first = [False] * n
        line, first = 0, True
        for i, token in enumerate(doc):
            self.line_of[i] = line
            if breaks[i]:
                line, first = line + 1, True
            elif not token.is_space:
                line_first[i], first = first, False
        self.blank = _prefix(b and texts[i].count("\n") >= 2 for i, b in enumerate(breaks))
        self.colons = _prefix(t == ":" for t in texts)
        self.semicolons = _prefix(t == ";" for t in texts)
        self.periods = _prefix(t == "." for t in texts)
        self.markers = _prefix(
            line_first[i] and LIST_MARKER.match(t) is not None for i, t in enumerate(texts)
        )
        self.lexicon = {
            name: _prefix(w in words for w in lower) for name, words in LEXICON_SETS.items()
        }
        self.lines = _Ranges.of(self.line_of)
        self.clauses = _Ranges.of(state.clause_of)
        self.segments = _Ranges.of(state.segment_of)
        self.affirmed = sorted(
            (t for t in state.ivus if t.assertion == "affirmed"), key=lambda t: t.start
        )
        self.vessels = sorted(state.vessels, key=lambda m: (m.start, m.end))
        self.vessel_starts = np.array([m.start for m in self.vessels], dtype=np.int64)
        self.vessel_token = [False] * n
        for m in state.vessels:
            for i in range(m.start, m.end):
                self.vessel_token[i] = True
        self.ivus_starts = np.array(sorted(t.start for t in state.ivus), dtype=np.int64)
        self.affirmed_starts = np.array([t.start for t in self.affirmed], dtype=np.int64)
        self.unaffirmed_starts = np.array(
            sorted(t.start for t in state.ivus if t.assertion != "affirmed"), dtype=np.int64
        )
        unit_of, clause_of, segment_of = state.unit_of, state.clause_of, state.segment_of
        self.unit_vessel = {unit_of[m.start] for m in state.vessels}
        self.vessels_in_unit: dict[int, list[VMention]] = {}
        for m in self.vessels:
            self.vessels_in_unit.setdefault(unit_of[m.start], []).append(m)
        self.affirmed_in_unit: dict[int, list[Target]] = {}
        for t in self.affirmed:
            self.affirmed_in_unit.setdefault(unit_of[t.start], []).append(t)
        self.affirmed_units = sorted(self.affirmed_in_unit)
        self.unit_finding = {unit_of[f.start] for f in state.findings}
        self.clause_finding = {clause_of[f.start] for f in state.findings}
        self.finding_starts = sorted(f.start for f in state.findings)
        self.unit_pathology = {unit_of[p.start] for p in state.pathologies}
        self.segment_modality = {segment_of[m.start] for m in state.modalities}
        self.unit_modality = {unit_of[m.start] for m in state.modalities}
        angio = [p for p in state.procedures if p.kind in ANGIO_PROCEDURES]
        self.segment_angio = {segment_of[p.start] for p in angio}
        self.unit_angio = {unit_of[p.start] for p in angio}
        self.segment_treatment = {
            segment_of[p.start] for p in state.procedures if p.kind in TREATMENT_PROCEDURES
        }
        self.segment_ivus = {segment_of[t.start] for t in state.ivus}
        self.clause_ivus = {clause_of[t.start] for t in state.ivus}
        self.heading_units = {
            u
            for u, (a, b) in enumerate(state.units)
            if b - a <= HEADING_UNIT_TOKENS and self._ends_with_colon(a, b)
        }
        # extents: the kind of the extent a vessel mention ends or lies in, and where it starts
        self.extent_of: dict[str, tuple[str, int]] = {}
        order = {"imaging": 0, "lesion": 1, "treatment": 2}
        for extent in sorted(state.extents, key=lambda e: (order.get(e.kind, 3), e.start)):
            for m in state.vessels:
                inside = extent.start <= m.start < extent.end
                if (m.id in (extent.first, extent.second) or inside) and m.id not in self.extent_of:
                    self.extent_of[m.id] = (extent.kind, extent.start)
        # the rule linker's decisions, read before they are rewritten
        self.rule_links = {(i, v): basis for i, v, basis in state.links}
        self.rule_vessels: dict[str, set[str]] = {}
        for i, v in self.rule_links:
            self.rule_vessels.setdefault(v, set()).add(i)
        self.rule_ivus = {i for i, _ in self.rule_links}
        self.rule_findings = {k: list(v) for k, v in state.ivus_findings.items()}

    # --- helpers -------------------------------------------------------------------------------
    def _ends_with_colon(self, start: int, end: int) -> bool:
        j = end - 1
        while j > start and self.texts[j].isspace():
            j -= 1
        return self.texts[j] == ":"

    @staticmethod
    def _count(prefix: np.ndarray, lo: int, hi: int) -> int:
        return int(prefix[hi] - prefix[lo]) if hi > lo else 0

    @staticmethod
    def _between_count(starts: np.ndarray, lo: int, hi: int) -> int:
        """How many of the sorted ``starts`` lie in [lo, hi)."""
        if hi <= lo or not len(starts):
            return 0
        return int(np.searchsorted(starts, hi, "left") - np.searchsorted(starts, lo, "left"))

    def _between_ranges(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The tokens between the two mentions, at most ``BETWEEN_TOKENS`` of them (both ends)."""
        if hi - lo <= spec.BETWEEN_TOKENS:
            return [(lo, hi)]
        half = spec.BETWEEN_TOKENS // 2
        return [(lo, lo + half), (hi - half, hi)]

    def _reference(self, ivus: Target) -> bool:
        lower = self.state.lower
        for phrase in REFERENCE_PHRASES:
            start = ivus.start - len(phrase)
            if start >= 0 and tuple(lower[start : ivus.start]) == phrase:
                return True
        return False

    def _previous_word(self, mention: VMention) -> str | None:
        lower = self.state.lower
        j = mention.start - 1
        steps = 0
        while j >= 0 and steps < 3 and (lower[j] in DETERMINER_SET or self.texts[j].isspace()):
            j -= 1
            steps += 1
        if j < 0:
            return None
        for name, words in PREVIOUS_SETS.items():
            if lower[j] in words:
                return name
        return None

    def _line_start(self, mention: VMention) -> bool:
        line = self.line_of[mention.start]
        for j in range(self.lines.first[line], mention.start):
            text = self.texts[j]
            if text.isspace() or text in LIST_PUNCT or LIST_MARKER.match(text):
                continue
            return False
        return True

    def _colon_after(self, mention: VMention) -> bool:
        for j in range(mention.end, min(mention.end + 2, self.n)):
            if self.texts[j] == ":":
                return True
            if not self.texts[j].isspace():
                return False
        return False

    def _ivus_form(self, ivus: Target) -> str:
        text = " ".join(self.state.lower[ivus.start : ivus.end])
        if "ivus" in text or "iv us" in text:
            return "acronym"
        if "ultra" in text or "sonograph" in text:
            return "spelled"
        return "device"

    # --- candidates ----------------------------------------------------------------------------
    def candidates(self) -> list[tuple[Target, VMention]]:
        """(affirmed IVUS, vessel) pairs inside the window, in text order."""
        state = self.state
        out = []
        for ivus in self.affirmed:
            unit = state.unit_of[ivus.start]
            section = state.section_of[ivus.start]
            for mention in self.vessels:
                d = state.unit_of[mention.start] - unit
                m_section = state.section_of[mention.start]
                if (m_section == section and -spec.WINDOW_BACK <= d <= spec.WINDOW_FORWARD) or (
                    m_section == "ivus_findings" and 0 < d <= spec.FINDINGS_FORWARD
                ):
                    out.append((ivus, mention))
        return out

    # --- features ------------------------------------------------------------------------------
    def row(self, ivus: Target, mention: VMention) -> np.ndarray:
        """The feature vector of one pair, in :func:`models.linker_spec.feature_names` order."""
        f: dict[str, float] = {}
        state = self.state
        lower = state.lower
        unit_of = state.unit_of
        after = mention.start >= ivus.end
        if after:
            lo, hi = ivus.end, mention.start
        elif mention.end <= ivus.start:
            lo, hi = mention.end, ivus.start
        else:
            lo = hi = ivus.start
        gap = hi - lo
        t_unit, m_unit = unit_of[ivus.start], unit_of[mention.start]
        d = m_unit - t_unit
        f["vessel_after_ivus"] = float(after)
        f["log_token_gap"] = _log(gap)
        f["token_gap_le3"] = float(gap <= 3)
        f["token_gap_le8"] = float(gap <= 8)
        f["log_unit_distance"] = _log(abs(d))
        f[f"unit_distance={_unit_bucket(d)}"] = 1.0
        f["same_sentence"] = float(state.sent_of[ivus.start] == state.sent_of[mention.start])
        f["same_clause"] = float(state.clause_of[ivus.start] == state.clause_of[mention.start])
        f["same_segment"] = float(state.segment_of[ivus.start] == state.segment_of[mention.start])
        f["same_line"] = float(self.line_of[ivus.start] == self.line_of[mention.start])
        f["same_paragraph"] = float(
            state.paragraph_of_unit[t_unit] == state.paragraph_of_unit[m_unit]
        )
        t_section = state.section_of[ivus.start] or "none"
        m_section = state.section_of[mention.start] or "none"
        f["same_section"] = float(t_section == m_section)
        f[f"vessel_section={_known(m_section, spec.SECTIONS)}"] = 1.0
        f[f"ivus_section={_known(t_section, spec.SECTIONS)}"] = 1.0
        f[f"vessel_role={_known(mention.role, spec.ROLES)}"] = 1.0
        f[f"vessel_kind={_known(mention.kind, spec.KINDS)}"] = 1.0
        f["vessel_plural"] = float(mention.plural)
        f["vessel_coordinated"] = float(mention.coordinated)
        f["vessel_unsided"] = float(mention.side is None and mention.kind != "coronary")
        # the IVUS mention
        f[f"ivus_form={self._ivus_form(ivus)}"] = 1.0
        f["ivus_adjacent_ivus_before"] = float(
            any(0 <= ivus.start - t.end <= 3 for t in state.ivus if t is not ivus)
        )
        f["ivus_adjacent_ivus_after"] = float(
            any(0 <= t.start - ivus.end <= 3 for t in state.ivus if t is not ivus)
        )
        t_first, t_last = state.units[t_unit]
        f["ivus_colon_after"] = float(
            any(self.texts[j] == ":" for j in range(ivus.end, min(ivus.end + 5, t_last)))
        )
        f["ivus_heading_unit"] = float(t_unit in self.heading_units)
        f["ivus_reference_phrase"] = float(self._reference(ivus))
        f["ivus_unit_has_vessel"] = float(t_unit in self.unit_vessel)
        f["ivus_unit_treatment_word"] = float(
            self._count(self.lexicon["treatment"], t_first, t_last) > 0
        )
        f["ivus_unit_angio_word"] = float(self._count(self.lexicon["angio"], t_first, t_last) > 0)
        f["ivus_unit_finding"] = float(t_unit in self.unit_finding)
        same_unit = self.affirmed_in_unit[t_unit]
        f["ivus_first_affirmed_in_unit"] = float(same_unit[0] is ivus)
        f["log_affirmed_ivus_in_unit"] = _log(len(same_unit))
        rank, nearest_unit = self._event_rank(t_unit, ivus, mention)
        f[f"ivus_event_rank={rank}"] = 1.0
        f["nearest_event_is_heading"] = float(
            nearest_unit is not None and nearest_unit in self.heading_units
        )
        # what lies between
        f["log_vessels_between"] = _log(self._between_count(self.vessel_starts, lo, hi))
        f["log_ivus_between"] = _log(self._between_count(self.ivus_starts, lo, hi))
        f["affirmed_ivus_between"] = float(self._between_count(self.affirmed_starts, lo, hi) > 0)
        f["unaffirmed_ivus_between"] = float(
            self._between_count(self.unaffirmed_starts, lo, hi) > 0
        )
        nearest, preceding = self._nearest(mention)
        f["nearest_affirmed_ivus"] = float(nearest is ivus)
        f["nearest_preceding_affirmed_ivus"] = float(preceding is ivus)
        f["other_affirmed_ivus_in_vessel_unit"] = float(
            any(unit_of[t.start] == m_unit for t in self.affirmed if t is not ivus)
        )
        f["unaffirmed_ivus_in_vessel_unit"] = float(
            any(unit_of[t.start] == m_unit for t in state.ivus if t.assertion != "affirmed")
        )
        m_line = self.line_of[mention.start]
        f["other_ivus_same_line_as_vessel"] = float(
            any(self.line_of[t.start] == m_line for t in self.affirmed if t is not ivus)
        )
        chain = after and state.sent_of[ivus.start] == state.sent_of[mention.start]
        if chain:
            chain = all(
                self.vessel_token[i] or self.texts[i].isspace() or lower[i] in LIST_GLUE_SET
                for i in range(lo, hi)
            )
        f["list_chain_from_ivus"] = float(chain)
        if chain:
            f["log_list_position"] = _log(len({int(s) for s in self.vessel_starts if lo <= s < hi}))
        ranges = self._between_ranges(lo, hi)
        for name in LEXICON_SETS:
            f[f"between_{name}_word"] = float(
                any(self._count(self.lexicon[name], a, b) for a, b in ranges)
            )
        f["between_colon"] = float(self._count(self.colons, lo, hi) > 0)
        f["between_semicolon"] = float(self._count(self.semicolons, lo, hi) > 0)
        f["between_period"] = float(self._count(self.periods, lo, hi) > 0)
        f["between_blank_line"] = float(self._count(self.blank, lo, hi) > 0)
        f["between_list_marker"] = float(self._count(self.markers, lo, hi) > 0)
        previous = self._previous_word(mention)
        if previous is not None:
            f[f"vessel_previous_word={previous}"] = 1.0
        # the vessel's own clause, segment and unit
        clause = state.clause_of[mention.start]
        c_first, c_last = self.clauses.first[clause], self.clauses.last[clause]
        for name in LEXICON_SETS:
            count = self._count(self.lexicon[name], c_first, c_last) - self._count(
                self.lexicon[name], mention.start, mention.end
            )
            f[f"vessel_clause_{name}_word"] = float(count > 0)
        segment = state.segment_of[mention.start]
        f["vessel_line_start"] = float(self._line_start(mention))
        in_unit = self.vessels_in_unit[m_unit]
        f["vessel_first_in_unit"] = float(in_unit[0] is mention)
        f["log_vessels_in_unit"] = _log(len(in_unit))
        f["vessel_colon_after"] = float(self._colon_after(mention))
        f["vessel_clause_finding"] = float(clause in self.clause_finding)
        f["vessel_unit_finding"] = float(m_unit in self.unit_finding)
        f["finding_within_6_after"] = float(
            any(
                mention.end <= s < mention.end + 6 and unit_of[s] == m_unit
                for s in self.finding_starts
            )
        )
        f["vessel_unit_pathology"] = float(m_unit in self.unit_pathology)
        f["vessel_segment_modality"] = float(segment in self.segment_modality)
        f["vessel_unit_modality"] = float(m_unit in self.unit_modality)
        f["vessel_segment_angio_procedure"] = float(segment in self.segment_angio)
        f["vessel_unit_angio_procedure"] = float(m_unit in self.unit_angio)
        f["vessel_segment_treatment_procedure"] = float(segment in self.segment_treatment)
        f["vessel_segment_has_ivus"] = float(segment in self.segment_ivus)
        f["vessel_clause_has_ivus"] = float(clause in self.clause_ivus)
        extent = self.extent_of.get(mention.id)
        f[f"vessel_extent={_known(extent[0], spec.EXTENT_KINDS) if extent else 'none'}"] = 1.0
        f["vessel_extent_starts_in_ivus_unit"] = float(
            extent is not None and unit_of[extent[1]] == t_unit
        )
        # the chain of units between the IVUS statement and the vessel
        if d > 0:
            between = range(t_unit + 1, m_unit)
            empty = [
                u
                for u in between
                if u not in self.unit_finding
                and u not in self.unit_pathology
                and u not in self.unit_vessel
                and u not in self.heading_units
            ]
            f["log_chain_gap_units"] = _log(len(empty))
            f["chain_break_no_result"] = float(bool(empty))
            f["chain_break_modality"] = float(
                any(u in self.unit_modality or u in self.unit_angio for u in between)
            )
            f["chain_heading_between"] = float(any(u in self.heading_units for u in between))
        # what the rule linker decided (the hybrid head only)
        basis = self.rule_links.get((ivus.id, mention.id))
        if basis is not None:
            f["rule_linked"] = 1.0
            f[f"rule_basis={_known(basis, spec.RULE_BASES, 'other')}"] = 1.0
        linked_from = self.rule_vessels.get(mention.id, set())
        f["rule_vessel_linked_any"] = float(bool(linked_from))
        f["rule_ivus_has_links"] = float(ivus.id in self.rule_ivus)
        f["rule_linked_to_other_ivus"] = float(bool(linked_from - {ivus.id}))
        row = np.zeros(len(FEATURES), dtype=np.float64)
        for name, value in f.items():
            row[FEATURE_INDEX[name]] = value
        return row

    def _event_rank(self, t_unit: int, ivus: Target, mention: VMention) -> tuple[str, int | None]:
        """How many units with affirmed IVUS come after this mention's unit and before the
        vessel (``after`` when the IVUS mention follows the vessel), and the nearest such unit
        (an "IVUS findings:" heading is an event of its own)."""
        m_unit = self.state.unit_of[mention.start]
        before = [
            u
            for u in self.affirmed_units
            if u < m_unit or (u == m_unit and self.affirmed_in_unit[u][0].start < mention.start)
        ]
        nearest = before[-1] if before else None
        if ivus.start > mention.start:
            return "after", nearest
        later = sum(1 for u in before if u > t_unit)
        return ("0", "1", "2+")[min(later, 2)], nearest

    def _nearest(self, mention: VMention) -> tuple[Target | None, Target | None]:
        """The affirmed IVUS mention nearest the vessel, and the nearest one before it."""
        nearest = preceding = None
        best = best_before = None
        for t in self.affirmed:
            if t.end <= mention.start:
                gap = mention.start - t.end
                if best_before is None or gap <= best_before:
                    best_before, preceding = gap, t
            else:
                gap = max(t.start - mention.end, 0)
            if best is None or gap < best:
                best, nearest = gap, t
        return nearest, preceding

    def matrix(self, pairs: Sequence[tuple[Target, VMention]]) -> np.ndarray:
        if not pairs:
            return np.zeros((0, len(FEATURES)))
        return np.vstack([self.row(t, m) for t, m in pairs])


def _known(value: str | None, vocabulary: tuple[str, ...], fallback: str = "unknown") -> str:
    return value if value in vocabulary else fallback


# --- rewriting the links ---------------------------------------------------------------------
def relink(doc: Doc, state: State, heads: LinkerHeads) -> Decision:
    """Replace ``state.links`` with the heads' decision and attribute the IVUS findings to the
    newly linked vessels. Returns the decision (probabilities per candidate, text order)."""
    features = DocFeatures(doc, state)
    pairs = features.candidates()
    decision = heads.decide(features.matrix(pairs), [m.id for _, m in pairs])
    links = []
    for (ivus, mention), p, pm, keep in zip(
        pairs,
        decision.pair_probabilities,
        decision.mention_probabilities,
        decision.linked,
        strict=True,
    ):
        if keep:
            # hybrid: a link the rules made too keeps the rules' reason; others say how sure
            rule_basis = (
                features.rule_links.get((ivus.id, mention.id)) if heads.mode == "hybrid" else None
            )
            basis = rule_basis or f"{heads.mode} p={p:.2f} mention p={pm:.2f}"
            links.append((ivus.id, mention.id, basis))
    if heads.mode == "hybrid":  # outside the candidate window the rules still decide
        judged = {(ivus.id, mention.id) for ivus, mention in pairs}
        links += [
            (i, v, basis) for (i, v), basis in features.rule_links.items() if (i, v) not in judged
        ]
    state.links = links
    state.ivus_findings = attribute_findings(doc, state, features.rule_findings)
    return decision


def attribute_findings(
    doc: Doc, state: State, rule_findings: dict[str, list[str]]
) -> dict[str, list[str]]:
    """IVUS findings → the linked vessel mentions they describe.

    A finding in a linking unit that holds linked vessels goes to the nearest linked vessel of
    its clause (else every linked vessel of the unit), as the rule linker does; otherwise the
    rule linker's attribution is kept for the vessels still linked; otherwise a finding in the
    unit of an IVUS mention with links goes to that mention's vessels. Others are dropped (an
    angiographic stenosis is not an IVUS finding)."""
    clauses = _Clauses(doc, state, cues())
    linked = {v for _, v, _ in state.links}
    by_id = {m.id: m for m in state.vessels}
    linked_by_unit: dict[int, list[VMention]] = {}
    for mention in sorted(state.vessels, key=lambda m: m.start):
        if mention.id in linked:
            linked_by_unit.setdefault(state.unit_of[mention.start], []).append(mention)
    by_ivus: dict[str, list[VMention]] = {}
    for ivus_id, vessel_id, _ in state.links:
        by_ivus.setdefault(ivus_id, []).append(by_id[vessel_id])
    ivus_by_unit: dict[int, list[str]] = {}
    for t in state.ivus:
        if t.id in by_ivus:
            ivus_by_unit.setdefault(state.unit_of[t.start], []).append(t.id)
    out: dict[str, set[str]] = {}
    for finding in state.findings:
        unit = state.unit_of[finding.start]
        here = linked_by_unit.get(unit)
        if here:
            _attribute(state, [finding], here, clauses, out)
            continue
        kept = [v for v in rule_findings.get(finding.id, []) if v in linked]
        if kept:
            out.setdefault(finding.id, set()).update(kept)
            continue
        context = [m for i in ivus_by_unit.get(unit, []) for m in by_ivus[i]]
        if context:
            _attribute(state, [finding], context, clauses, out)
    return {fid: sorted(vids) for fid, vids in sorted(out.items())}


# --- the spaCy component ---------------------------------------------------------------------
class LearnedLinker:
    """Rewrites the rule linker's links with a learned head (``model`` or ``hybrid``)."""

    def __init__(self, mode: str, weights: str | None = None, model: LinkerModel | None = None):
        if mode not in LEARNED_MODES:
            from models.errors import ModelFileError

            raise ModelFileError("E205", mode=mode, known=list(LEARNED_MODES))
        self.mode = mode
        self.model = model or load_linker_model(weights)
        self.head = self.model.head(mode)

    @property
    def version(self) -> str:
        """``<mode>-<weights digest>``: part of the extractor version of every result."""
        return f"{self.mode}-{self.model.digest}"

    def use(self, model: LinkerModel) -> None:
        """Score with other weights (cross-validation swaps in each fold's model)."""
        self.model = model
        self.head = model.head(self.mode)

    def __call__(self, doc: Doc) -> Doc:
        relink(doc, state_of(doc), self.head)
        return doc


@Language.factory("ivus_learned_linker", default_config={"mode": "hybrid", "weights": None})
def make_learned_linker(nlp, name, mode, weights):  # type: ignore[no-untyped-def]
    """spaCy factory: the learned linker, after ``ivus_linker``; ``mode`` "model" or "hybrid",
    ``weights`` a weights file (None: the shipped ``models/weights/linker.json``). Untyped:
    spaCy's config validation cannot resolve postponed annotations here."""
    return LearnedLinker(mode, weights)


# --- training examples from the gold corpus --------------------------------------------------
def doc_examples(doc: Doc, text: str, gold: dict[str, Any]) -> DocExamples:
    """The candidate pairs of one processed gold document (rule linker's state, before any
    learned linker), their features and their labels: a pair is positive when its IVUS and
    vessel mentions overlap-match the two ends of a gold link of an affirmed IVUS mention (the
    matching ``ivus-coder evaluate`` uses)."""
    from models.evaluation import match_overlap, predicted_spans

    from .facts import doc_to_facts

    state = state_of(doc)
    features = DocFeatures(doc, state)
    pairs = features.candidates()
    spans = predicted_spans(doc_to_facts(doc, text))
    gold_spans = gold["spans"]

    def mapping(label: str) -> dict[str, str]:
        return match_overlap(
            [s for s in gold_spans if s["label"] == label],
            [s for s in spans if s["label"] == label],
        )

    ivus_map, vessel_map = mapping("IVUS"), mapping("VESSEL")
    gold_links = _affirmed_gold_links(gold)
    # Coordinated names ("left common and external iliac veins") are one gold span but one
    # predicted mention per vessel; the evaluation matches one of them. For the labels every
    # mention of the span is that gold vessel mention (each carries a vessel the codes need).
    by_span = {(m.start, m.end): vessel_map[m.id] for m in state.vessels if m.id in vessel_map}
    keys, gold_pairs, labels = [], [], []
    for ivus, mention in pairs:
        gi, gv = ivus_map.get(ivus.id), vessel_map.get(mention.id)
        pair = f"{gi}>{gv}" if gi is not None and gv is not None else ""
        label_vessel = by_span.get((mention.start, mention.end))
        keys.append(f"{ivus.id}>{mention.id}")
        gold_pairs.append(pair)
        labels.append(int(gi is not None and f"{gi}>{label_vessel}" in gold_links))
    affirmed_ivus = {t.id for t in features.affirmed}
    matched_ivus = {g for p, g in ivus_map.items() if p in affirmed_ivus}
    matched_vessels = set(vessel_map.values())
    matchable = tuple(
        k
        for k in gold_links
        if k.split(">")[0] in matched_ivus and k.split(">")[1] in matched_vessels
    )
    rule_keys = {f"{i}>{v}" for i, v in features.rule_links}
    return DocExamples(
        doc_id=gold["id"],
        split=gold.get("split", ""),
        keys=tuple(keys),
        gold_pairs=tuple(gold_pairs),
        labels=np.array(labels, dtype=np.int64),
        matrix=features.matrix(pairs),
        gold_links=tuple(gold_links),
        rule_links=tuple(sorted(rule_keys)),
        rule_pairs=tuple(
            sorted(
                f"{ivus_map.get(i)}>{vessel_map.get(v)}"
                if i in ivus_map and v in vessel_map
                else ""
                for i, v in features.rule_links
            )
        ),
        matchable_links=matchable,
    )


def _affirmed_gold_links(gold: dict[str, Any]) -> tuple[str, ...]:
    affirmed = {
        s["id"]
        for s in gold["spans"]
        if s["label"] == "IVUS" and s["attrs"].get("assertion", "affirmed") == "affirmed"
    }
    links = {f"{k['ivus']}>{k['vessel']}" for k in gold["links"] if k["ivus"] in affirmed}
    return tuple(sorted(links))


def training_set(gold_docs: Sequence[dict[str, Any]], extractor: Any = None) -> TrainingSet:
    """The examples of ``gold_docs``, processed by a rules-only pipeline (a note the IVUS gate
    stops has no candidates; its gold links count as misses)."""
    from .pipeline import Extractor

    extractor = extractor or Extractor(linker="rules")
    if extractor.linker != "rules":
        raise ValueError("training examples need the rule linker's state: use linker='rules'")
    docs = []
    for gold in sorted(gold_docs, key=lambda g: g["id"]):
        doc = extractor.process(gold["text"])
        if doc is None:
            docs.append(
                DocExamples(
                    doc_id=gold["id"],
                    split=gold.get("split", ""),
                    keys=(),
                    gold_pairs=(),
                    labels=np.zeros(0, dtype=np.int64),
                    matrix=np.zeros((0, len(FEATURES))),
                    gold_links=_affirmed_gold_links(gold),
                )
            )
        else:
            docs.append(doc_examples(doc, gold["text"], gold))
    return TrainingSet(docs, corpus_digest(gold_docs), extractor.version)
