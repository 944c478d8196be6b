"""IVUS Coder domain core: vessel ontology, policies, result types and the deterministic coder.

Pure Python: no spaCy here. Everything else depends on it; it depends on nothing of ours.
"""

from .coder import code_encounter
from .errors import DocumentError, IvusCoderError, RuleFileError
from .ontology import load_ontology
from .policy import CodingSettings, load_policies
from .types import (
    Assertion,
    CodingResult,
    Extent,
    ExtentKind,
    Facts,
    Finding,
    IvusMention,
    Link,
    MentionKind,
    Modality,
    Pathology,
    Procedure,
    SetAside,
    Span,
    StatedCount,
    VesselMention,
)

__all__ = [
    "Assertion",
    "CodingResult",
    "CodingSettings",
    "DocumentError",
    "Extent",
    "ExtentKind",
    "Facts",
    "Finding",
    "IvusCoderError",
    "IvusMention",
    "Link",
    "MentionKind",
    "Modality",
    "Pathology",
    "Procedure",
    "RuleFileError",
    "SetAside",
    "Span",
    "StatedCount",
    "VesselMention",
    "code_encounter",
    "load_ontology",
    "load_policies",
]
