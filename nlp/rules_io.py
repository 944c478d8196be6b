"""Loading the extraction rule files (``nlp/rules/*.json``), validated at load.

Target, ConText and section rules become medspaCy's validated rule objects (``TargetRule``,
``ConTextRule``, ``SectionRule``); the cue lists become frozen sets. Files are read once per
process. A malformed file fails at start-up with a numbered error (E001/E002), never mid-batch.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from functools import cache
from typing import Any

from pydantic import Field

from rules_core.errors import RuleFileError
from rules_core.ontology import _Strict, read_json_rule_file, validate_model
from rules_core.version import source_bytes

from ._medspacy import ConTextRule, SectionRule, TargetRule

PACKAGE = "nlp.rules"
TARGET_FILES = (
    "ivus.json",
    "modalities.json",
    "pathology.json",
    "findings.json",
    "procedures.json",
)
ALL_FILES = (*TARGET_FILES, "context.json", "sections.json", "cues.json")
EXTRACTOR_MODULES = (
    "_medspacy",
    "assertion",
    "extents",
    "facts",
    "learned_linker",
    "linker",
    "mentions",
    "pipeline",
    "rules_io",
    "sentences",
    "state",
    "targets",
    "tokenizer",
)
LEARNED_LINKER_MODULES = ("linker_spec", "linker_model", "errors")


class TargetFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.targets/1$")
    version: str
    about: str
    category: str
    gate: tuple[str, ...] = ()
    target_rules: tuple[dict[str, Any], ...]


class ContextFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.context/1$")
    version: str
    about: str
    context_rules: tuple[dict[str, Any], ...]


class SectionFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.sections/1$")
    version: str
    about: str
    sections: dict[str, tuple[str, ...]]


class CueFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.cues/1$")
    version: str
    about: str
    access_before: frozenset[str]
    access_before_phrases: tuple[str, ...]
    access_after: frozenset[str]
    access_after_phrases: tuple[str, ...]
    advance_verbs: frozenset[str]
    landmark_before_phrases: tuple[str, ...]
    landmark_after: frozenset[str]
    extent_from: frozenset[str]
    extent_connectors: frozenset[str]
    extent_core: frozenset[str]
    continuity_words: frozenset[str]
    separate_words: frozenset[str]
    spared_words: frozenset[str]
    imaging_words: frozenset[str]
    treatment_words: frozenset[str]
    result_verbs: frozenset[str]
    anaphora: frozenset[str]
    clause_breaks: frozenset[str]
    clause_break_phrases: tuple[str, ...]
    count_words: dict[str, int]
    vessel_count_nouns: frozenset[str]
    system_vein_words: frozenset[str]
    system_artery_words: frozenset[str]
    plan_result_verbs: frozenset[str]
    today_words: frozenset[str]
    wire_words: frozenset[str]
    wire_verbs: frozenset[str]
    list_line_max_tokens: int
    no_image_patterns: tuple[str, ...]
    body_side_nouns: frozenset[str]
    treatment_procedures: frozenset[str]
    long_sentence_tokens: int
    transit_after: frozenset[str]
    reference_ivus_before: tuple[str, ...]
    landmark_skip: frozenset[str]
    treatment_after: frozenset[str]
    caps_ambiguous_terms: frozenset[str]
    caps_word_followers: frozenset[str]


def _read(name: str, model: type[_Strict]) -> Any:
    data, _ = read_json_rule_file(PACKAGE, name)
    return validate_model(model, data, f"nlp/rules/{name}")


def _rule_or_error(name: str, build: Any, data: dict[str, Any]) -> Any:
    try:
        return build(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise RuleFileError("E002", path=f"nlp/rules/{name}", detail=f"{data!r}: {exc}") from exc


def anchored_patterns(pattern: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The same matches from patterns whose first token is required.

    spaCy's Matcher starts a partial match at every token a leading optional token ("?" or
    "*") could cover; expanding ``[a?, b, c]`` into ``[b, c]`` and ``[a, b, c]`` (and ``[a*, b]``
    into ``[b]`` and ``[a+, b]``) keeps the matches and makes matching several times cheaper.
    """
    if not pattern:
        return []
    first, rest = pattern[0], pattern[1:]
    op = first.get("OP")
    if op not in ("?", "*"):
        return [pattern]
    required = {k: v for k, v in first.items() if k != "OP"}
    if op == "*":
        required["OP"] = "+"
    return [*anchored_patterns(rest), [required, *rest]]


MAX_PHRASES_PER_PATTERN = 4000


def phrase_expansion(
    pattern: list[dict[str, Any]],
) -> list[tuple[str, tuple[str | None, ...]]] | None:
    """The phrases a token pattern matches, when it is only a sequence of fixed or optional
    tokens given by ``LOWER``/``ORTH`` values (or ``IN`` lists of them).

    Returns (lower-case phrase, exact spelling per token or None) pairs, or None when the
    pattern needs the Matcher (numbers, regular expressions, repeats). The PhraseMatcher finds
    such phrases at almost no cost, where each Matcher pattern costs ~0.1 ms per note.
    """
    options: list[list[tuple[str, str | None] | None]] = []
    for token in pattern:
        op = token.get("OP")
        keys = set(token) - {"OP"}
        if op not in (None, "?") or len(keys) != 1 or not keys <= {"LOWER", "ORTH"}:
            return None
        key = keys.pop()
        value = token[key]
        if isinstance(value, dict):
            if set(value) != {"IN"}:
                return None
            values = list(value["IN"])
        else:
            values = [value]
        choices: list[tuple[str, str | None] | None] = [
            (v.lower(), v if key == "ORTH" else None) for v in values
        ]
        if op == "?":
            choices.append(None)
        options.append(choices)
    phrases: list[list[tuple[str, str | None]]] = [[]]
    for choices in options:
        phrases = [p + ([c] if c else []) for p in phrases for c in choices]
        if len(phrases) > MAX_PHRASES_PER_PATTERN:
            return None
    out = []
    for words in phrases:
        if words and any(w for w, _ in words):
            out.append((" ".join(w for w, _ in words), tuple(exact for _, exact in words)))
    return out


def compile_target_rule(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One rule-file entry → the rule dicts to load: phrase rules where the pattern expands to
    phrases (exact spellings kept in ``metadata.exact``), otherwise Matcher patterns anchored on
    a required first token (:func:`anchored_patterns`)."""
    pattern = data.get("pattern")
    if not isinstance(pattern, list):
        return [data]
    phrases = phrase_expansion(pattern)
    if phrases is None:
        return [{**data, "pattern": variant} for variant in anchored_patterns(pattern)]
    out = []
    for phrase, exact in phrases:
        metadata = dict(data.get("metadata") or {})
        if any(exact):
            metadata["exact"] = list(exact)
        out.append({"literal": phrase, "category": data["category"], "metadata": metadata})
    return out


@cache
def target_rules() -> tuple[TargetRule, ...]:
    """Every non-vessel target rule (IVUS, modalities, pathology, findings, procedures), compiled
    for speed by :func:`compile_target_rule` with the same matches."""
    rules: list[TargetRule] = []
    for name in TARGET_FILES:
        spec: TargetFile = _read(name, TargetFile)
        for data in spec.target_rules:
            if data.get("category") != spec.category:
                raise RuleFileError(
                    "E002", path=f"nlp/rules/{name}", detail=f"{data!r}: wrong category"
                )
            for compiled in compile_target_rule(dict(data)):
                rules.append(_rule_or_error(name, TargetRule.from_dict, compiled))
    return tuple(rules)


@cache
def ivus_gate() -> re.Pattern[str]:
    """The pre-filter: a note matching none of these holds no IVUS and no look-alike modality."""
    spec: TargetFile = _read("ivus.json", TargetFile)
    try:
        return re.compile("|".join(f"(?:{p})" for p in spec.gate), re.IGNORECASE)
    except re.error as exc:
        raise RuleFileError("E002", path="nlp/rules/ivus.json", detail=f"gate: {exc}") from exc


@cache
def context_rules() -> tuple[ConTextRule, ...]:
    """The ConText rules of context.json; a token pattern's ``IN`` sets are spelled out into one
    rule per combination (:func:`exact_alternatives`): the same matches, found faster."""
    spec: ContextFile = _read("context.json", ContextFile)
    rules = []
    for data in spec.context_rules:
        patterns = exact_alternatives(data["pattern"]) if data.get("pattern") else [None]
        for pattern in patterns:
            item = dict(data) if pattern is None else {**data, "pattern": pattern}
            rules.append(_rule_or_error("context.json", ConTextRule.from_dict, item))
    return tuple(rules)


EXACT_KEYS = ("ORTH", "LOWER", "SHAPE", "NORM", "TEXT")


def exact_alternatives(
    pattern: list[dict[str, Any]], limit: int = 64
) -> list[list[dict[str, Any]]]:
    """``pattern`` with every ``{"IN": [...]}`` of an exact-valued attribute replaced by each of
    its values, one pattern per combination (at most ``limit``; else the pattern as it is).

    spaCy's Matcher checks an exact value in C but calls a Python predicate for ``IN`` at every
    token of the note."""
    choices: list[list[dict[str, Any]]] = []
    total = 1
    for token in pattern:
        options = [dict(token)]
        for key in EXACT_KEYS:
            value = token.get(key)
            if isinstance(value, dict) and set(value) == {"IN"}:
                options = [{**o, key: v} for o in options for v in value["IN"]]
        choices.append(options)
        total *= len(options)
    if total > limit:
        return [pattern]
    return [list(combination) for combination in itertools.product(*choices)]


# A heading starts a line and is followed by ':' / '-' or by the end of its line: the
# Sectionizer's start- and end-of-line checks both use this pattern on the neighbouring token.
HEADING_BOUNDARY = r"(?:[\n\r]+\s*|^[:\-–—]\s*)$"


@cache
def section_rules() -> tuple[SectionRule, ...]:
    """Phrase rules for every heading in sections.json (matched on lower case)."""
    spec: SectionFile = _read("sections.json", SectionFile)
    return tuple(
        SectionRule(literal=heading, category=category)
        for category, headings in spec.sections.items()
        for heading in headings
    )


@cache
def cues() -> CueFile:
    return _read("cues.json", CueFile)


@cache
def rules_version() -> str:
    """``nlp.<sha256[:10]>`` of every extraction rule file and the extractor's modules (the
    learned linker's scoring modules included), so a change of logic changes the version too."""
    digest = hashlib.sha256()
    for name in ALL_FILES:
        digest.update(read_json_rule_file(PACKAGE, name)[1])
    digest.update(source_bytes(__package__, EXTRACTOR_MODULES))
    digest.update(source_bytes("models", LEARNED_LINKER_MODULES))
    return f"nlp.{digest.hexdigest()[:10]}"


@cache
def extractor_version(linker: str | None = None) -> str:
    """The version of an extractor whose links ``linker`` decides (default: the pipeline's
    default linker), part of each result's version: :func:`rules_version`, plus
    ``.<mode>-<weights digest>`` for a learned linker (:func:`extractor_version_with_linker`).
    Needs no pipeline built."""
    from .pipeline import DEFAULT_LINKER

    mode = linker or DEFAULT_LINKER
    if mode == "rules":
        return rules_version()
    from models.linker_model import load_linker_model

    return extractor_version_with_linker(f"{mode}-{load_linker_model().digest}")


def extractor_version_with_linker(linker_version: str | None = None) -> str:
    """:func:`rules_version`, plus ``.<mode>-<weights digest>`` when a learned linker (``model``
    or ``hybrid``, :mod:`nlp.learned_linker`) decides the links: results made with another
    linker or other weights carry another version."""
    base = rules_version()
    return f"{base}.{linker_version}" if linker_version else base
