"""spaCy's English tokenizer, blank (no model download), fitted to dictated measurements.

Splits what dictation glues together so the rules can see it: ``46mm2`` → ``46 mm2``,
``12x14`` → ``12 x 14``, ``CSA=120`` → ``CSA = 120``, ``~50`` → ``~ 50``.
"""

from __future__ import annotations

from functools import cache

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

UNIT_SUFFIXES = [
    r"(?<=[0-9])(?:mm2|mm²|mm\^2|cm2|cm²|cm\^2|mm|cm|ml|cc|mg|Fr|fr|F|French|mmHg|%)$",
]
MEASURE_INFIXES = [r"(?<=[0-9])[xX×](?=[0-9])", r"(?<=[A-Za-z0-9])=(?=[A-Za-z0-9])"]
EXTRA_PREFIXES = [r"~", r"≈", r"≥", r"≤", r"<", r">"]


def customize_tokenizer(nlp: Language) -> Language:
    """Give ``nlp`` a tokenizer with the measurement prefixes, infixes and suffixes (built once:
    assigning the regexes one by one would reload the special cases each time)."""
    defaults = nlp.Defaults
    old = nlp.tokenizer
    nlp.tokenizer = Tokenizer(
        nlp.vocab,
        rules=defaults.tokenizer_exceptions,
        prefix_search=compile_prefix_regex([*EXTRA_PREFIXES, *defaults.prefixes]).search,
        suffix_search=compile_suffix_regex([*UNIT_SUFFIXES, *defaults.suffixes]).search,
        infix_finditer=compile_infix_regex([*MEASURE_INFIXES, *defaults.infixes]).finditer,
        token_match=old.token_match,
        url_match=old.url_match,
    )
    return nlp


@cache
def build_tokenizer_nlp() -> Language:
    """A blank English pipeline with the fitted tokenizer and nothing else."""
    return customize_tokenizer(spacy.blank("en"))
