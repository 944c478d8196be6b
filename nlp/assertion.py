"""Assertion of IVUS statements and procedures: negated, planned, historical, no images.

medspaCy's ConText (Chapman et al., "ConText: an algorithm for determining negation,
experiencer, and temporal status from clinical reports", J Biomed Inform 2009) runs with our
rules only (``context.json``) and only over IVUS, procedure and modality spans, never over
anatomy. Two section rules complete it: IVUS in a history section is historical, and IVUS in a
plan section is planned unless its sentence reports a result (RULEBOOK 5).
"""

import itertools
import re

from spacy.language import Language
from spacy.tokens import Doc, Span

from ._medspacy import ConText
from .rules_io import context_rules, cues
from .state import State, Target, state_of
from .tokenizer import literal_pipeline

GROUP = "ivus_assertable"
# ConText category → assertion, strongest first (a negated attempt is still negated).
PRECEDENCE = (
    ("NEGATED_EXISTENCE", "negated"),
    ("NO_IMAGES", "attempted-no-images"),
    ("HISTORICAL", "historical"),
    ("HYPOTHETICAL", "hypothetical"),
)


class IvusContext:
    def __init__(self, nlp: Language, name: str) -> None:
        self.context = ConText(
            literal_pipeline(nlp),
            name=name,
            rules=None,
            span_attrs=None,
            input_span_type="group",
            span_group_name=GROUP,
            prune_on_modifier_overlap=True,
        )
        self.context.add(list(context_rules()))
        self.cues = cues()
        self.no_images = re.compile("|".join(self.cues.no_image_patterns), re.IGNORECASE)

    def __call__(self, doc: Doc) -> Doc:
        state = state_of(doc)
        targets: list[Target] = [*state.ivus, *state.procedures, *state.modalities]
        if not targets:
            return doc
        spans = [Span(doc, t.start, t.end, label=t.label) for t in targets]
        doc.spans[GROUP] = spans
        self.context(doc)
        for target, span in zip(targets, doc.spans[GROUP], strict=True):
            categories = {m.category: m for m in span._.modifiers}
            for category, assertion in PRECEDENCE:
                if category in categories:
                    target.assertion = assertion
                    modifier = categories[category]
                    target.cue = modifier.modifier_span
                    break
        negate_inside_negation_cues(doc, targets)
        for target in state.ivus:
            apply_no_images(doc, state, target, self.no_images)
        for target in (*state.ivus, *state.procedures):
            apply_section_assertion(doc, state, target, self.cues)
        share_appositive_assertion(doc, state.ivus)
        return doc


def negate_inside_negation_cues(doc: Doc, targets: list[Target]) -> None:
    """'No IVUS or OCT was performed', 'Neither IVUS nor OCT': ConText does not let a modifier
    modify a target inside its own words, and the longer 'no X or' cue displaces the plain 'no'
    before X; a target inside a negation cue's words, after its first, is negated by it."""
    graph = getattr(doc._, "context_graph", None)
    if graph is None:
        return
    for modifier in graph.modifiers:
        if modifier.category != "NEGATED_EXISTENCE":
            continue
        start, end = modifier.modifier_span
        for target in targets:
            if target.assertion == "affirmed" and start < target.start and target.end <= end:
                target.assertion = "negated"
                target.cue = (start, end)


@Language.factory("ivus_context", default_config={})
def make_ivus_context(nlp: Language, name: str) -> IvusContext:
    """spaCy factory: ConText restricted to IVUS, procedures and modalities."""
    return IvusContext(nlp, name)


def share_appositive_assertion(doc: Doc, ivus: list[Target]) -> None:
    """'intravenous ultrasound (IVUS)', 'IVUS (Visions PV)': side-by-side names of one IVUS
    share one assertion, the non-affirmed one when they differ."""
    for first, second in itertools.pairwise(ivus):
        gap = doc[first.end : second.start]
        if len(gap) > 2 or any(not t.is_punct for t in gap):
            continue
        if first.assertion == "affirmed" and second.assertion != "affirmed":
            first.assertion, first.cue = second.assertion, second.cue
        elif second.assertion == "affirmed" and first.assertion != "affirmed":
            second.assertion, second.cue = first.assertion, first.cue


def apply_no_images(doc: Doc, state: State, target: Target, pattern: re.Pattern[str]) -> None:
    """'... and no usable images were obtained': every IVUS of that sentence is an attempt
    without images, however far the words stand from it (RULEBOOK 5)."""
    if target.assertion not in ("affirmed", "hypothetical"):
        return
    start, end = state.sentences[state.sent_of[target.start]]
    match = pattern.search(doc[start:end].text)
    if match:
        target.assertion = "attempted-no-images"
        span = doc[start:end].char_span(match.start(), match.end(), alignment_mode="expand")
        target.cue = (span.start, span.end) if span is not None else None


def apply_section_assertion(doc: Doc, state: State, target: Target, cue_file: object) -> None:
    """History sections make IVUS (or a procedure) historical; plan sections make it planned
    unless a result is reported in the same sentence (``plan_result_verbs``) or the sentence
    says 'today'."""
    if target.assertion != "affirmed":
        return
    section = state.section_of[target.start] if state.section_of else None
    if section not in ("history", "plan"):
        return
    start, end = state.sentences[state.sent_of[target.start]]
    words = {t.lower_ for t in doc[start:end]}
    if words & cue_file.today_words:  # type: ignore[attr-defined]
        return
    if section == "history":
        target.assertion = "historical"
    elif not words & cue_file.plan_result_verbs:  # type: ignore[attr-defined]
        target.assertion = "hypothetical"
