"""The extraction pipeline, built in code from our JSON rule files on a blank English tokenizer.

Nothing is downloaded and nothing is read from a serialized pipeline (medspaCy pipelines do not
serialize: DESIGN.md pitfalls). Components, in order: the fitted tokenizer, ``ivus_sentences``,
medspaCy's Sectionizer (our headings only, at line start), ``ivus_targets`` (medspaCy
TargetMatcher), ``ivus_vessels``, ``ivus_context`` (medspaCy ConText), ``ivus_extents`` and
``ivus_linker``, then, unless the linker is ``rules``, ``ivus_learned_linker`` (the learned
linker of :mod:`nlp.learned_linker`, ``model`` or ``hybrid``). A note that the IVUS gate does not
match skips the pipeline: it holds no IVUS and no look-alike modality, so it codes to zero
whatever else it says.
"""

from __future__ import annotations

from dataclasses import replace

from spacy.language import Language
from spacy.tokens import Doc

from rules_core.types import Facts

from . import assertion, extents, mentions, sentences, targets  # noqa: F401  (factories)
from . import linker as rule_linker  # noqa: F401  (the ivus_linker factory)
from .facts import doc_to_facts
from .rules_io import (
    HEADING_BOUNDARY,
    extractor_version_with_linker,
    ivus_gate,
    section_rules,
)
from .sentences import unwrap_lines
from .tokenizer import blank_pipeline, literal_pipeline

SENTENCE_SPLITTERS = ("ivus", "sentencizer", "pyrush")
LINKERS = ("rules", "model", "hybrid")
# The linker that scored better on dev (models/CARD.md, "Which linker is the default").
DEFAULT_LINKER = "rules"


def build_pipeline(
    splitter: str = "ivus", linker: str = "rules", linker_weights: str | None = None
) -> Language:
    """A fresh pipeline; build one per process (or per worker) and reuse it.

    ``splitter`` picks the sentence splitter: ``ivus`` (ours, the default), spaCy's
    ``sentencizer`` or medspaCy's ``pyrush`` — compared in ``bench/sentences.py``.
    ``linker`` picks who decides which vessels each IVUS mention examined: ``rules`` (the rule
    linker alone), ``model`` (the learned linker, without the rules' decisions) or ``hybrid``
    (the learned linker reading the rules' decisions); :data:`DEFAULT_LINKER` is the product's
    default. ``linker_weights`` is a weights file for the learned linker (default: the shipped
    ``models/weights/linker.json``).
    """
    from ._medspacy import Sectionizer

    if linker not in LINKERS:
        from models.errors import ModelFileError

        raise ModelFileError("E205", mode=linker, known=list(LINKERS))

    nlp = blank_pipeline()
    if splitter == "ivus":
        nlp.add_pipe("ivus_sentences")
    elif splitter == "sentencizer":
        nlp.add_pipe("sentencizer")
    elif splitter == "pyrush":
        from loguru import logger

        logger.disable("PyRuSH")  # ~160 debug lines per note otherwise
        import PyRuSH  # noqa: F401  (registers the medspacy_pyrush factory)

        nlp.add_pipe("medspacy_pyrush")
    else:
        raise ValueError(f"unknown sentence splitter {splitter!r}; known: {SENTENCE_SPLITTERS}")
    sectionizer = Sectionizer(
        literal_pipeline(nlp),
        rules=None,
        require_start_line=True,
        require_end_line=True,
        newline_pattern=HEADING_BOUNDARY,
        span_attrs=None,
        input_span_type="ents",
    )
    sectionizer.add(list(section_rules()))
    Language.component("ivus_sectionizer", func=sectionizer)
    nlp.add_pipe("ivus_sectionizer")
    nlp.add_pipe("ivus_targets")
    nlp.add_pipe("ivus_vessels")
    nlp.add_pipe("ivus_context")
    nlp.add_pipe("ivus_extents")
    nlp.add_pipe("ivus_linker")
    if linker != "rules":
        from . import learned_linker  # noqa: F401  (registers ivus_learned_linker)

        nlp.add_pipe("ivus_learned_linker", config={"mode": linker, "weights": linker_weights})
    return nlp


def linker_of(nlp: Language) -> tuple[str, str | None]:
    """The pipeline's linker mode and, for a learned one, ``<mode>-<weights digest>``."""
    if "ivus_learned_linker" in nlp.pipe_names:
        component = nlp.get_pipe("ivus_learned_linker")
        return component.mode, component.version
    return "rules", None


class Extractor:
    """Text → :class:`rules_core.Facts`, with the IVUS gate in front of the pipeline."""

    def __init__(
        self,
        nlp: Language | None = None,
        linker: str | None = None,
        linker_weights: str | None = None,
    ) -> None:
        """``linker``: ``rules``, ``model`` or ``hybrid`` (default :data:`DEFAULT_LINKER`),
        ``linker_weights``: the learned linker's weights file (default: the shipped one); both
        are ignored when a built pipeline ``nlp`` is given (its own linker is used)."""
        self.nlp = nlp or build_pipeline(
            linker=linker or DEFAULT_LINKER, linker_weights=linker_weights
        )
        self.gate = ivus_gate()
        self.linker, linker_version = linker_of(self.nlp)
        self.version = extractor_version_with_linker(linker_version)

    def passes_gate(self, text: str) -> bool:
        return self.gate.search(text) is not None

    def process(self, text: str) -> Doc | None:
        """The processed Doc (of the text with wrapped lines joined, offsets unchanged), or
        None when the note fails the gate."""
        if not self.passes_gate(text):
            return None
        return self.nlp(unwrap_lines(text))

    def extract(self, text: str) -> Facts:
        doc = self.process(text)
        if doc is None:
            return Facts(text_length=len(text), extractor_version=self.version)
        facts = doc_to_facts(doc, text)
        if facts.extractor_version != self.version:
            facts = replace(facts, extractor_version=self.version)
        return facts
