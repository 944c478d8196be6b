"""spaCy's English tokenizer, blank (no model download), fitted to dictated measurements.

Splits what dictation glues together so the rules can see it: ``46mm2`` → ``46 mm2``,
``12x14`` → ``12 x 14``, ``CSA=120`` → ``CSA = 120``, ``~50`` → ``~ 50``; and drops spaCy's
emoticon exceptions, so "IVUS (PV .035): IVC" splits ``)`` from ``:``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

UNIT_SUFFIXES = [
    r"(?<=[0-9])(?:mm2|mm²|mm\^2|cm2|cm²|cm\^2|mm|cm|ml|cc|mg|Fr|fr|F|French|mmHg|%)$",
]
MEASURE_INFIXES = [r"(?<=[0-9])[xX×](?=[0-9])", r"(?<=[A-Za-z0-9])=(?=[A-Za-z0-9])"]
EXTRA_PREFIXES = [r"~", r"≈", r"≥", r"≤", r"<", r">"]
EMOTICON_CHARACTERS = frozenset(":;=^_()[]{}<>*|@¬°")


def _without_emoticons(exceptions: dict[str, Any]) -> dict[str, Any]:
    return {
        text: value
        for text, value in exceptions.items()
        if any(c.isalnum() for c in text) or not any(c in EMOTICON_CHARACTERS for c in text)
    }


TOKENIZER_NAME = "ivus_coder.tokenizer.v1"
TOKENIZER_CONFIG = {"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}}


@spacy.registry.tokenizers(TOKENIZER_NAME)
def create_tokenizer() -> Callable[[Language], Tokenizer]:
    """spaCy's English tokenizer with the measurement prefixes, infixes and suffixes, built once
    (assigning the regexes to a built tokenizer reloads its special cases each time)."""

    def make(nlp: Language) -> Tokenizer:
        defaults = nlp.Defaults
        return Tokenizer(
            nlp.vocab,
            rules=_without_emoticons(defaults.tokenizer_exceptions),
            prefix_search=compile_prefix_regex([*EXTRA_PREFIXES, *defaults.prefixes]).search,
            suffix_search=compile_suffix_regex([*UNIT_SUFFIXES, *defaults.suffixes]).search,
            infix_finditer=compile_infix_regex([*MEASURE_INFIXES, *defaults.infixes]).finditer,
            token_match=defaults.token_match,
            url_match=defaults.url_match,
        )

    return make


def blank_pipeline(vocab: Any = True) -> Language:
    """A blank English pipeline with the fitted tokenizer."""
    return spacy.blank("en", config=TOKENIZER_CONFIG, vocab=vocab)


_literal_pipelines: dict[int, tuple[Any, Language]] = {}


def literal_pipeline(nlp: Language) -> Language:
    """A tokenizer-only pipeline sharing ``nlp``'s vocabulary (one per vocabulary), for turning
    rule phrases into token sequences: medspaCy runs the ``nlp`` it is given over every phrase it
    adds, which would run every component built so far over ~4,000 phrases at start-up."""
    key = id(nlp.vocab)
    if key not in _literal_pipelines:
        _literal_pipelines[key] = (nlp.vocab, blank_pipeline(nlp.vocab))
    return _literal_pipelines[key][1]


@cache
def build_tokenizer_nlp() -> Language:
    """A blank English pipeline with the fitted tokenizer and nothing else."""
    return blank_pipeline()
