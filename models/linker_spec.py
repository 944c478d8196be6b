"""The feature specification of the learned vessel linker: names, vocabularies, window.

Pure data, no spaCy: ``nlp/learned_linker.py`` computes these features from a processed Doc,
:mod:`models.linker_training` fits weights over them and :mod:`models.linker_model` scores them.
Every feature is a number with a name a reader understands (``same_clause``,
``vessel_role=access``, ``between_imaging_word``); binary features are 0/1, counts and distances
are ``log1p``-scaled. Features whose name starts with ``rule_`` describe what the rule linker
decided: the ``model`` heads leave them out, the ``hybrid`` heads use them. A second set, the
mention features, describes a vessel mention by its candidate pairs (:func:`mention_feature_names`).

The word lists here are the model's own (not the rule linker's cue file), so that tuning the
rules does not silently change what a feature means; the weights record :func:`spec_digest`,
and loading refuses weights computed over another specification (E203).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SPEC_VERSION = "linker-features/1"

# Candidate pairs: an affirmed IVUS mention and a vessel mention of the same section from
# WINDOW_BACK linking units before it to WINDOW_FORWARD after it, or a vessel of an IVUS findings
# section up to FINDINGS_FORWARD units after it. Measured on the train split: every gold link of
# a matched IVUS and vessel mention falls inside (model card, "Candidates").
WINDOW_BACK = 2
WINDOW_FORWARD = 14
FINDINGS_FORWARD = 20
BETWEEN_TOKENS = 40  # cue words are looked for in at most this many tokens between the two

SECTIONS = (
    "procedures",
    "indications",
    "diagnosis",
    "history",
    "technique",
    "findings",
    "ivus_findings",
    "impression",
    "plan",
    "complications",
    "anesthesia",
    "access",
    "other",
    "none",
    "unknown",
)
ROLES = ("named", "access", "landmark", "transit", "treated", "unknown")
KINDS = ("vessel", "generic", "coronary", "region", "unknown")
IVUS_FORMS = ("acronym", "spelled", "device")
EXTENT_KINDS = ("imaging", "lesion", "treatment", "none")
RULE_BASES = ("same-sentence", "follow-on", "antecedent", "other")
UNIT_DISTANCES = ("before", "0", "1", "2", "3-5", "6+")
# How many units holding affirmed IVUS lie between this IVUS mention's unit and the vessel
# (0: the nearest such unit before the vessel, or the vessel's own unit)
EVENT_RANKS = ("0", "1", "2+", "after")

LEXICONS: dict[str, tuple[str, ...]] = {
    "imaging": (
        "pullback", "pull-back", "pullbacks", "pulled", "run", "runs", "interrogation",
        "interrogated", "interrogate", "imaged", "imaging", "withdrawn", "withdrawal", "sweep",
        "survey", "evaluated", "evaluation", "examined", "assessed", "assessment", "performed",
        "interrogating", "images", "image",
    ),
    "treatment": (
        "stent", "stents", "stented", "stenting", "deployed", "balloon", "angioplasty",
        "venoplasty", "dilated", "dilation", "landing", "covering", "graft", "endograft",
        "atherectomy", "pta", "postdilated", "post-dilated", "predilated", "thrombectomy",
        "embolization", "embolized", "coiled", "treated",
    ),
    "result": (
        "showed", "shows", "show", "demonstrated", "demonstrates", "revealed", "reveals",
        "confirmed", "confirms", "measured", "measures", "measuring", "noted", "identified",
        "documented", "found", "seen", "visualized", "consistent", "observed", "mla", "msa",
        "csa", "area", "diameter", "reduction", "compression", "stenosis", "apposed",
        "expanded", "expansion", "narrowing",
    ),
    "angio": (
        "angiogram", "angiography", "angiographic", "arteriogram", "arteriography", "venogram",
        "venography", "venographic", "aortogram", "cavogram", "runoff", "run-off", "dsa",
        "fluoroscopy", "fluoroscopic", "contrast", "injection", "duplex", "ultrasound-guided",
        "guidance", "ice", "oct",
    ),
    "access": (
        "via", "access", "accessed", "puncture", "punctured", "sheath", "cannulated",
        "retrograde", "antegrade", "contralateral", "up-and-over", "introducer", "micropuncture",
    ),
    "transit": ("through", "across", "advanced", "passed", "wire", "guidewire", "over", "along"),
    "plan": (
        "plan", "planned", "will", "would", "consider", "recommend", "recommended", "future",
        "prior", "previous", "previously", "history", "outside", "ago",
    ),
    "negation": ("no", "not", "without", "neither", "nor", "unable"),
}
PREVIOUS_WORDS: dict[str, tuple[str, ...]] = {
    "of": ("of",),
    "in": ("in", "within", "at", "on"),
    "into": ("into", "to", "toward", "towards"),
    "through": ("through", "thru", "across", "traversing"),
    "from": ("from",),
    "via": ("via", "using"),
}
REFERENCE_PHRASES = ("based on the", "based on", "per", "according to the", "according to",
                     "on the basis of", "guided by the", "guided by")
# "IVUS of the IVC, left CIV and EIV": a vessel whose gap to the IVUS mention holds only these
# words and other vessel names stands in the IVUS mention's list
LIST_GLUE = (",", "and", "or", "/", "&", "as", "well", "the", "plus", "of", "in", ":", ";", "(",
             ")", "-", "including", "both", "bilateral", "its", "then", "also", "segments")
DETERMINERS = ("the", "a", "an", "this", "that", "both", "proximal", "mid", "distal", "entire")


def feature_names() -> tuple[str, ...]:
    """Every feature, in the order of the model's coefficient vectors."""
    names: list[str] = [
        "vessel_after_ivus",
        "log_token_gap",
        "token_gap_le3",
        "token_gap_le8",
        "log_unit_distance",
    ]
    names += [f"unit_distance={d}" for d in UNIT_DISTANCES]
    names += [
        "same_sentence",
        "same_clause",
        "same_segment",
        "same_line",
        "same_paragraph",
        "same_section",
    ]
    names += [f"vessel_section={s}" for s in SECTIONS]
    names += [f"ivus_section={s}" for s in SECTIONS]
    names += [f"vessel_role={r}" for r in ROLES]
    names += [f"vessel_kind={k}" for k in KINDS]
    names += ["vessel_plural", "vessel_coordinated", "vessel_unsided"]
    names += [f"ivus_form={f}" for f in IVUS_FORMS]
    names += [
        "ivus_adjacent_ivus_before",
        "ivus_adjacent_ivus_after",
        "ivus_colon_after",
        "ivus_heading_unit",
        "ivus_reference_phrase",
        "ivus_unit_has_vessel",
        "ivus_unit_treatment_word",
        "ivus_unit_angio_word",
        "ivus_unit_finding",
        "ivus_first_affirmed_in_unit",
        "log_affirmed_ivus_in_unit",
    ]
    names += [f"ivus_event_rank={r}" for r in EVENT_RANKS]
    names += ["nearest_event_is_heading"]
    names += [
        "log_vessels_between",
        "log_ivus_between",
        "affirmed_ivus_between",
        "unaffirmed_ivus_between",
        "nearest_affirmed_ivus",
        "nearest_preceding_affirmed_ivus",
        "other_affirmed_ivus_in_vessel_unit",
        "unaffirmed_ivus_in_vessel_unit",
        "other_ivus_same_line_as_vessel",
        "list_chain_from_ivus",
        "log_list_position",
    ]
    names += [f"between_{name}_word" for name in LEXICONS]
    names += [
        "between_colon",
        "between_semicolon",
        "between_period",
        "between_blank_line",
        "between_list_marker",
    ]
    names += [f"vessel_previous_word={name}" for name in PREVIOUS_WORDS]
    names += [f"vessel_clause_{name}_word" for name in LEXICONS]
    names += [
        "vessel_line_start",
        "vessel_first_in_unit",
        "log_vessels_in_unit",
        "vessel_colon_after",
        "vessel_clause_finding",
        "vessel_unit_finding",
        "finding_within_6_after",
        "vessel_unit_pathology",
        "vessel_segment_modality",
        "vessel_unit_modality",
        "vessel_segment_angio_procedure",
        "vessel_unit_angio_procedure",
        "vessel_segment_treatment_procedure",
        "vessel_segment_has_ivus",
        "vessel_clause_has_ivus",
    ]
    names += [f"vessel_extent={k}" for k in EXTENT_KINDS]
    names += ["vessel_extent_starts_in_ivus_unit"]
    names += [
        "log_chain_gap_units",
        "chain_break_no_result",
        "chain_break_modality",
        "chain_heading_between",
    ]
    names += ["rule_linked", *[f"rule_basis={b}" for b in RULE_BASES]]
    names += ["rule_vessel_linked_any", "rule_ivus_has_links", "rule_linked_to_other_ivus"]
    return tuple(names)


def mention_feature_names() -> tuple[str, ...]:
    """The features of a vessel mention (the mention head): ``any:<f>``, the largest value of
    pair feature ``f`` over the mention's candidate pairs, and ``nearest:<f>``, its value in the
    pair with the nearest IVUS mention (:func:`models.linker_model.mention_matrix`)."""
    names = feature_names()
    return tuple([f"any:{n}" for n in names] + [f"nearest:{n}" for n in names])


def rule_feature(name: str) -> bool:
    """Features that carry the rule linker's decision (left out of the ``model`` heads)."""
    return name.split(":", 1)[-1].startswith("rule_")


def spec_document() -> dict[str, Any]:
    """The specification as data: what the weights file stores and :func:`spec_digest` hashes."""
    return {
        "version": SPEC_VERSION,
        "window": {
            "back_units": WINDOW_BACK,
            "forward_units": WINDOW_FORWARD,
            "findings_forward_units": FINDINGS_FORWARD,
            "between_tokens": BETWEEN_TOKENS,
        },
        "names": list(feature_names()),
        "mention_names": "any:<name> and nearest:<name> for every name (mention head)",
        "lexicons": {k: list(v) for k, v in LEXICONS.items()},
        "previous_words": {k: list(v) for k, v in PREVIOUS_WORDS.items()},
        "determiners": list(DETERMINERS),
        "list_glue": list(LIST_GLUE),
        "reference_phrases": list(REFERENCE_PHRASES),
    }


def spec_digest() -> str:
    """``linker-features/1.<sha256[:10]>`` of :func:`spec_document`."""
    raw = json.dumps(spec_document(), sort_keys=True, separators=(",", ":")).encode()
    return f"{SPEC_VERSION}.{hashlib.sha256(raw).hexdigest()[:10]}"
