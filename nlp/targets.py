"""Target matching: IVUS, vessels, findings, pathology, procedures and look-alike modalities.

One medspaCy ``TargetMatcher`` holds the rule files' target rules and the vessel rules generated
from the ontology (:func:`vessel_target_rules`). Overlaps are resolved per label (longest match),
and across labels only where they contradict: IVUS words win over a modality inside them
("intravascular ultrasound-guided"), a finding wins over the pathology noun inside it ("no
residual stenosis"). Vessel mentions keep their place inside a procedure ("IVC filter
retrieval" names the IVC).
"""

import itertools
from functools import cache
from typing import Any

from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from rules_core.ontology import Term, load_ontology

from ._medspacy import TargetMatcher, TargetRule
from .mentions import side_of_token
from .rules_io import cues, target_rules
from .state import State, Target, VMention, state_of
from .tokenizer import literal_pipeline

VESSEL = "VESSEL"
# label → (State list, id prefix)
TARGET_LISTS = {
    "IVUS": ("ivus", "i"),
    "FINDING": ("findings", "f"),
    "PATHOLOGY": ("pathologies", "d"),
    "PROCEDURE": ("procedures", "p"),
    "NON_IVUS_MODALITY": ("modalities", "m"),
}


@cache
def vessel_target_rules() -> tuple[TargetRule, ...]:
    """Phrase rules for every surface form the ontology derives (names, abbreviations, ...).

    All are matched on lower case by the PhraseMatcher (fast); the case-sensitive ones (``CIV``,
    ``AT``, ``LAD``) are checked against their exact spelling afterwards (:func:`_case_fits`).
    """
    return tuple(
        TargetRule(literal=term.text, category=VESSEL, metadata={"term": index})
        for index, term in enumerate(load_ontology().terms)
    )


def _spelling_fits(span: Span, exact: list[str | None]) -> bool:
    """Tokens a rule spells case-sensitively ('US' in 'IV US') must be spelled so."""
    return len(span) == len(exact) and all(
        e is None or t.text == e for t, e in zip(span, exact, strict=True)
    )


def _case_fits(span: Span, term: Term) -> bool:
    return not term.exact_case or span.text.replace("\n", " ") == term.text


COMMON_WORDS = frozenset(
    "of in by x × to at and or the a an is was mm cm % percent with for on from".split()
)
"""Words in most sentences of a note: a poor anchor for :class:`AnchoredMatcher`."""


def required_words(pattern: list[dict[str, Any]]) -> frozenset[str] | None:
    """Lower-case words one of which must occur for ``pattern`` to match (from its most selective
    required token: the fewest words, none of them :data:`COMMON_WORDS` when the pattern allows),
    or None when no token of it is a required fixed word."""
    best: frozenset[str] | None = None

    def cost(words: frozenset[str]) -> tuple[bool, int]:
        return (not words.isdisjoint(COMMON_WORDS), len(words))

    for token in pattern:
        if token.get("OP") in ("?", "*", "!") or str(token.get("OP", "")).startswith("{0"):
            continue
        for key in ("LOWER", "ORTH"):
            value = token.get(key)
            words = value if isinstance(value, str) else (value or {}).get("IN")
            if words:
                found = frozenset(
                    [words.lower()] if isinstance(words, str) else (w.lower() for w in words)
                )
                if best is None or cost(found) < cost(best):
                    best = found
    return best


class AnchoredMatcher:
    """spaCy's Matcher for the token-pattern rules, each group of rules sharing required words run
    only over the sentences that hold one of them (a pattern costs ~0.1 ms per note on the whole
    note; most notes hold its anchor words in a few sentences or none). Matches are those of one
    Matcher run sentence by sentence."""

    def __init__(self, vocab: Any, rules: list[TargetRule]) -> None:
        self.rules = rules
        self.anywhere = Matcher(vocab)
        groups: dict[frozenset[str], Matcher] = {}
        for index, rule in enumerate(rules):
            words = required_words(rule.pattern)
            if words is None:
                self.anywhere.add(str(index), [rule.pattern])
            else:
                groups.setdefault(words, Matcher(vocab)).add(str(index), [rule.pattern])
        self.groups = list(groups.items())

    def __call__(self, doc: Doc, state: State) -> list[tuple[Span, TargetRule]]:
        found: list[tuple[int, int, int]] = []
        strings = doc.vocab.strings
        lower = state.lower
        words_of = [frozenset(lower[a:b]) for a, b in state.sentences]
        runs = [
            (matcher, doc[a:b])
            for anchors, matcher in self.groups
            for (a, b), words in zip(state.sentences, words_of, strict=True)
            if not anchors.isdisjoint(words)
        ]
        if len(self.anywhere):
            runs.append((self.anywhere, doc[:]))
        for matcher, chunk in runs:
            for match_id, start, end in matcher(chunk):
                found.append((chunk.start + start, chunk.start + end, int(strings[match_id])))
        found.sort()  # by position, then rule order: the same result whichever group ran first
        return [
            (Span(doc, start, end, label=self.rules[index].category), self.rules[index])
            for start, end, index in found
        ]


class IvusTargets:
    """Match targets, resolve overlaps, and record sentences, clauses and sections."""

    def __init__(self, nlp: Language, name: str) -> None:
        rules = list(target_rules())
        self.matcher = TargetMatcher(
            literal_pipeline(nlp), name=name, result_type=None, prune=False
        )
        self.matcher.add([r for r in rules if r.pattern is None])
        self.matcher.add(list(vessel_target_rules()))
        self.anchored = AnchoredMatcher(nlp.vocab, [r for r in rules if r.pattern is not None])
        self.terms = load_ontology().terms
        self.cues = cues()
        self.clause_phrases: dict[str, list[list[str]]] = {}
        for phrase in self.cues.clause_break_phrases:
            words = phrase.split()
            self.clause_phrases.setdefault(words[0], []).append(words)

    def __call__(self, doc: Doc) -> Doc:
        state = state_of(doc)
        self._structure(doc, state)
        found = [(span, span._.target_rule) for span in self.matcher(doc)]
        found += self.anchored(doc, state)
        rule_of: dict[tuple[int, int, str], TargetRule] = {}
        by_label: dict[str, list[Span]] = {}
        for span, rule in found:
            exact = (rule.metadata or {}).get("exact")
            if exact and not _spelling_fits(span, exact):
                continue
            rule_of.setdefault((span.start, span.end, span.label_), rule)
            by_label.setdefault(span.label_, []).append(span)
        kept = {label: filter_spans(group) for label, group in by_label.items()}
        ivus = kept.get("IVUS", [])
        findings = kept.get("FINDING", [])
        kept["NON_IVUS_MODALITY"] = _drop_overlapping(kept.get("NON_IVUS_MODALITY", []), ivus)
        kept["PATHOLOGY"] = _drop_overlapping(kept.get("PATHOLOGY", []), findings)
        for label, (attr, prefix) in TARGET_LISTS.items():
            out: list[Target] = getattr(state, attr)
            for index, span in enumerate(sorted(kept.get(label, []), key=lambda s: s.start)):
                metadata = rule_of[(span.start, span.end, label)].metadata or {}
                out.append(
                    Target(
                        id=f"{prefix}{index + 1}",
                        label=label,
                        start=span.start,
                        end=span.end,
                        kind=metadata.get("kind", ""),
                    )
                )

        def term_of(span: Span) -> Term:
            return self.terms[rule_of[(span.start, span.end, VESSEL)].metadata["term"]]

        vessels = [
            s
            for s in by_label.get(VESSEL, [])
            if _case_fits(s, term_of(s)) and not self._caps_word(doc, s, by_label.get(VESSEL, []))
        ]
        kept[VESSEL] = filter_spans(vessels)
        for index, span in enumerate(sorted(kept[VESSEL], key=lambda s: s.start)):
            term = term_of(span)
            state.vessels.append(
                VMention(
                    id=f"v{index + 1}",
                    start=span.start,
                    end=span.end,
                    kind=term.kind,
                    candidates=term.candidates,
                    system=term.system,
                    plural=term.plural,
                    side=term.side,
                )
            )
        return doc

    def _structure(self, doc: Doc, state: State) -> None:
        """Sentence, paragraph, clause and comma-segment index of every token (clauses break at
        ';' and 'and then', segments also at commas; a blank line starts a paragraph). Works on
        the token texts and the sentence-start array, not on Token objects (hot path)."""
        texts = [t.text for t in doc]
        lower = [text.lower() for text in texts]
        state.lower = lower
        n = len(texts)
        starts = doc.to_array([SENT_START]).reshape(-1).tolist() if n else []
        sent_of = [0] * n
        clause_of = [0] * n
        segment_of = [0] * n
        s_index = -1
        sent_start = 0
        clause = segment = paragraph = 0
        breaks = self.cues.clause_breaks
        phrases = self.clause_phrases
        for i, text in enumerate(texts):
            if i == 0 or starts[i] == 1:
                if s_index >= 0:
                    state.sentences.append((sent_start, i))
                s_index += 1
                sent_start = i
                state.paragraph_of_sent.append(paragraph)
                clause += 1
                segment += 1
            word = lower[i]
            if word in breaks or any(lower[i : i + len(p)] == p for p in phrases.get(word, ())):
                clause += 1
                segment += 1
            elif text == ",":
                segment += 1
            sent_of[i] = s_index
            clause_of[i] = clause
            segment_of[i] = segment
            if text.count("\n") >= 2 and text.isspace():
                paragraph += 1
        if n:
            state.sentences.append((sent_start, n))
        state.sent_of = sent_of
        state.clause_of = clause_of
        state.segment_of = segment_of
        self._linking_units(doc, state)
        sections: list[str | None] = [None] * n
        for section in getattr(doc._, "sections", []) or []:
            start, end = section.section_span
            sections[start:end] = [section.category] * (end - start)
        state.section_of = sections

    def _caps_word(self, doc: Doc, span: Span, vessels: list[Span]) -> bool:
        """'AT' in an ALL-CAPS line is the word 'at' unless a side or another vessel name stands
        right next to it ("R AT", "TPT AND AT")."""
        if span.text not in self.cues.caps_ambiguous_terms:
            return False
        line_start, line_end = span.start, span.end
        while line_start > 0 and "\n" not in doc[line_start - 1].text:
            line_start -= 1
        while line_end < len(doc) and "\n" not in doc[line_end].text:
            line_end += 1
        line = [*doc[line_start : span.start], *doc[span.end : line_end]]
        letters = [c for t in line for c in t.text if c.isalpha()]
        if not letters or not all(c.isupper() for c in letters[-40:]):
            return False
        if span.end < len(doc) and (
            doc[span.end].lower_ in self.cues.caps_word_followers
            or doc[span.end].like_num
            or side_of_token(doc[span.end].text)
        ):
            return True  # "AT THE HILUM", "AT 12 ATM", "WAISTING AT L CIV"
        if span.start > 0 and side_of_token(doc[span.start - 1].text):
            return False
        return not any(
            0 < abs(other.start - span.start) <= 3
            and other.text not in self.cues.caps_ambiguous_terms
            for other in vessels
        )

    def _linking_units(self, doc: Doc, state: State) -> None:
        """The spans the linker treats as sentences: sentences, except that a run-on sentence
        longer than ``long_sentence_tokens`` is cut at its commas and clause breaks."""
        unit_of = [0] * len(doc)
        limit = self.cues.long_sentence_tokens
        for s_index, (start, end) in enumerate(state.sentences):
            cuts = [start]
            if end - start > limit:
                cuts += [
                    i + 1
                    for i in range(start, end - 1)
                    if state.segment_of[i + 1] != state.segment_of[i]
                ]
            cuts.append(end)
            for a, b in itertools.pairwise(cuts):
                if b <= a:
                    continue
                state.units.append((a, b))
                state.paragraph_of_unit.append(state.paragraph_of_sent[s_index])
                for i in range(a, b):
                    unit_of[i] = len(state.units) - 1
        state.unit_of = unit_of


@Language.factory("ivus_targets", default_config={})
def make_ivus_targets(nlp: Language, name: str) -> IvusTargets:
    """spaCy factory: the target matcher over our rule files and the ontology."""
    return IvusTargets(nlp, name)


def _drop_overlapping(spans: list[Span], winners: list[Span]) -> list[Span]:
    """Spans of ``spans`` that overlap none of ``winners``."""
    if not winners:
        return spans
    return [s for s in spans if not any(s.start < w.end and w.start < s.end for w in winners)]
