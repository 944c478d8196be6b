"""Loading the extraction rule files (``nlp/rules/*.json``), validated at load.

Target, ConText and section rules become medspaCy's validated rule objects (``TargetRule``,
``ConTextRule``, ``SectionRule``); the cue lists become frozen sets. Files are read once per
process. A malformed file fails at start-up with a numbered error (E001/E002), never mid-batch.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

from ._medspacy import ConTextRule, SectionRule, TargetRule
from pydantic import Field

from rules_core.errors import RuleFileError
from rules_core.ontology import _Strict, read_json_rule_file, validate_model

PACKAGE = "nlp.rules"
TARGET_FILES = ("ivus.json", "modalities.json", "pathology.json", "findings.json", "procedures.json")
ALL_FILES = (*TARGET_FILES, "context.json", "sections.json", "cues.json")


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


def _read(name: str, model: type[_Strict]) -> Any:
    data, _ = read_json_rule_file(PACKAGE, name)
    return validate_model(model, data, f"nlp/rules/{name}")


def _rule_or_error(name: str, build: Any, data: dict[str, Any]) -> Any:
    try:
        return build(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise RuleFileError("E002", path=f"nlp/rules/{name}", detail=f"{data!r}: {exc}") from exc


@cache
def target_rules() -> tuple[TargetRule, ...]:
    """Every non-vessel target rule (IVUS, modalities, pathology, findings, procedures)."""
    rules: list[TargetRule] = []
    for name in TARGET_FILES:
        spec: TargetFile = _read(name, TargetFile)
        for data in spec.target_rules:
            if data.get("category") != spec.category:
                raise RuleFileError("E002", path=f"nlp/rules/{name}", detail=f"{data!r}: wrong category")
            rules.append(_rule_or_error(name, TargetRule.from_dict, dict(data)))
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
    spec: ContextFile = _read("context.json", ContextFile)
    return tuple(_rule_or_error("context.json", ConTextRule.from_dict, dict(d)) for d in spec.context_rules)


@cache
def section_rules() -> tuple[SectionRule, ...]:
    """Headings at line start followed by ':' / '-' or the end of the line (see sections.json)."""
    spec: SectionFile = _read("sections.json", SectionFile)
    rules: list[SectionRule] = []
    for category, headings in spec.sections.items():
        for heading in headings:
            words = [{"LOWER": w} for w in _heading_tokens(heading)]
            for tail in ([{"ORTH": {"IN": [":", "-", "—", "–"]}}], [{"IS_SPACE": True, "TEXT": {"REGEX": "\n"}}]):
                rules.append(SectionRule(literal=heading, category=category, pattern=words + tail))
    return tuple(rules)


def _heading_tokens(heading: str) -> list[str]:
    from .tokenizer import build_tokenizer_nlp

    return [t.lower_ for t in build_tokenizer_nlp()(heading)]


@cache
def cues() -> CueFile:
    return _read("cues.json", CueFile)


@cache
def extractor_version() -> str:
    """``nlp.<sha256[:10]>`` of every extraction rule file: part of each result's version."""
    digest = hashlib.sha256()
    for name in ALL_FILES:
        digest.update(read_json_rule_file(PACKAGE, name)[1])
    return f"nlp.{digest.hexdigest()[:10]}"

