"""Request and response models of the HTTP API (pydantic), as the OpenAPI document shows them.

Request models validate. Response models document the result contract of DESIGN.md; the coder
builds the results as plain dicts and the service returns them as they are, so these models are
the contract's description, checked against real answers by the tests (schemathesis validates
every response against them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from rules_core import load_policies

_policies = load_policies()
PolicyName = Literal[tuple(sorted(_policies.policies))]  # type: ignore[valid-type]
DocumentationMode = Literal[tuple(sorted(_policies.settings_file.documentation_modes))]  # type: ignore[valid-type]

POLICY_HELP = (
    "Vessel-grouping policy (RULEBOOK 3.1): 'sir' (default) counts external iliac + common "
    "femoral and superficial femoral (or femoral) + popliteal as one vessel each; 'named-vessel' "
    "counts every named vessel."
)
DOCUMENTATION_HELP = (
    "A vessel without an IVUS finding: 'flag' (default) counts it and flags no-ivus-finding; "
    "'strict' does not count it."
)
MUE_HELP = (
    "Medically Unlikely Edit for 37253: more units are still emitted, and flagged exceeds-mue "
    "(default 5)."
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodingOptions(_Request):
    policy: PolicyName | None = Field(None, description=POLICY_HELP)  # type: ignore[valid-type]
    documentation: DocumentationMode | None = Field(None, description=DOCUMENTATION_HELP)  # type: ignore[valid-type]
    mue_37253: StrictInt | None = Field(None, ge=1, le=1000, description=MUE_HELP)


class CodeRequest(CodingOptions):
    """One note to code."""

    id: str | None = Field(
        None, max_length=256, description="Your document id, echoed as document_id."
    )
    text: str = Field(..., min_length=1, description="The note: plain text, UTF-8.")


class BatchDocument(_Request):
    """One note of a batch; ``policy`` overrides the batch's policy for this note."""

    id: str | None = Field(None, max_length=256)
    text: str = Field(..., description="The note: plain text, UTF-8.")
    policy: PolicyName | None = Field(None, description="Overrides the batch policy for this note.")  # type: ignore[valid-type]


class BatchRequest(CodingOptions):
    """Notes coded in order; a note that cannot be coded gets an error record in its place."""

    documents: list[BatchDocument | Any] = Field(
        ...,
        description="The notes. An entry that is not a valid document gets an error record "
        "(E103) in the results, in its place; the batch goes on.",
    )


# --- responses --------------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Evidence(_Out):
    role: str = Field(..., description="ivus, vessel, extent or finding")
    start: int = Field(..., description="Character offset (Unicode code points) into the note.")
    end: int
    text: str


class Merge(_Out):
    start: int
    end: int
    text: str
    extent: str


class Unit(_Out):
    code: Literal["37252", "37253"]
    group: str = Field(..., description="The policy group this unit counts.")
    vessels: list[str] = Field(..., description="Vessel ids in this unit.")
    merged_by: Merge | None = Field(
        None, description="Evidence of one continuous lesion across vessels."
    )


class Vessel(_Out):
    id: str
    label: str
    system: str
    side: str | None
    group: str
    evidence: list[Evidence]


class Excluded(_Out):
    start: int
    end: int
    text: str
    reason: str
    detail: str
    see_code: str | None = None


class Suppressed(_Out):
    start: int
    end: int
    text: str
    service: str
    cpt: str
    reason: str


class Flag(_Out):
    code: str
    message: str
    start: int
    end: int


class Codes(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    c37252: int = Field(..., alias="37252", ge=0, le=1)
    c37253: int = Field(..., alias="37253", ge=0)


class Span(_Out):
    """A highlighted span (``?include=spans``)."""

    id: str
    type: Literal["ivus", "vessel", "extent", "finding", "pathology", "procedure", "modality"]
    style: str = Field(..., description="Display style, as `ivus-coder explain` uses.")
    start: int
    end: int
    text: str
    links: list[str] = Field(
        ..., description="Ids of linked facts (IVUS ↔ vessel mentions, extent ends)."
    )
    vessels: list[str] = Field(
        ..., description="Vessel ids of the result this span is evidence for."
    )


class CodeResult(_Out):
    """The result contract (DESIGN.md)."""

    document_id: str | None
    policy: str
    ruleset_version: str
    settings: dict[str, Any]
    codes: Codes
    units: list[Unit]
    vessels: list[Vessel]
    excluded: list[Excluded]
    suppressed: list[Suppressed]
    flags: list[Flag]
    spans: list[Span] | None = Field(None, description="Only with ?include=spans.")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorRecord(BaseModel):
    """A document that could not be coded, in its place in a batch."""

    document_id: str | None
    error: ErrorDetail


class BatchResponse(BaseModel):
    results: list[CodeResult | ErrorRecord]


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    ruleset_version: str
    build_seconds: float | None


class PolicyInfo(BaseModel):
    title: str
    source: str
    description: str
    groups: dict[str, list[str]]


class VesselInfo(_Out):
    """A row of the vessel table (names and abbreviations included)."""

    id: str
    label: str
    system: str
    paired: bool
    territory: str


class Rules(BaseModel):
    """What a result depends on: versions, policies, settings, flags and the vessel table."""

    ruleset_version: str
    core_version: str
    extractor_version: str
    default_policy: str
    policies: dict[str, PolicyInfo]
    settings: dict[str, Any]
    documentation_modes: dict[str, str]
    flags: dict[str, str]
    bundling_services: dict[str, dict[str, Any]]
    vessels: list[VesselInfo]
    generic_vessels: list[dict[str, Any]]
    coronary_vessels: list[dict[str, Any]]
    regions: list[dict[str, Any]]
