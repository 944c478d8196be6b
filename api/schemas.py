"""Request and response models of the HTTP API (pydantic), as the OpenAPI document shows them.

Request models validate. Response models document the result contract of DESIGN.md; the coder
builds the results as plain dicts and the service returns them as they are, so these models are
the contract's description, checked against real answers by the tests (schemathesis validates
every response against them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from nlp.pipeline import LINKERS
from rules_core import load_policies

_policies = load_policies()
PolicyName = Literal[tuple(sorted(_policies.policies))]  # type: ignore[valid-type]
DocumentationMode = Literal[tuple(sorted(_policies.settings_file.documentation_modes))]  # type: ignore[valid-type]
LinkerName = Literal[LINKERS]  # type: ignore[valid-type]

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
# Who decides which vessels each IVUS mention examined, per linker (as api/cli.py's --linker help
# says; models/CARD.md).
LINKER_MODES = {
    "rules": "the rule linker",
    "model": "the learned linker alone",
    "hybrid": "the learned linker reading the rules' decisions",
}
LINKER_HELP = (
    "Vessel linker: who decides which vessels each IVUS mention examined: 'rules' (the rule "
    "linker), 'model' (the learned linker alone) or 'hybrid' (the learned linker reading the "
    "rules' decisions). Default: the server's (`ivus-coder serve --linker`, `default_linker` in "
    "GET /v1/rules). The result's ruleset_version names the linker and its weights. Only the "
    "default linker's pipeline is built at start-up; another is built on its first request, "
    "which waits for the build (about half a second)."
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodingOptions(_Request):
    policy: PolicyName | None = Field(None, description=POLICY_HELP)  # type: ignore[valid-type]
    documentation: DocumentationMode | None = Field(None, description=DOCUMENTATION_HELP)  # type: ignore[valid-type]
    mue_37253: StrictInt | None = Field(None, ge=1, le=1000, description=MUE_HELP)
    linker: LinkerName | None = Field(None, description=LINKER_HELP)  # type: ignore[valid-type]


class CodeRequest(CodingOptions):
    """One note to code."""

    id: str | None = Field(
        None, max_length=256, description="Your document id, echoed as document_id."
    )
    text: str = Field(..., min_length=1, description="The note: plain text, UTF-8.")


class BatchDocument(_Request):
    """One note of a batch; ``policy`` and ``linker`` override the batch's for this note."""

    id: str | None = Field(None, max_length=256)
    text: str = Field(..., description="The note: plain text, UTF-8.")
    policy: PolicyName | None = Field(None, description="Overrides the batch policy for this note.")  # type: ignore[valid-type]
    linker: LinkerName | None = Field(  # type: ignore[valid-type]
        None, description="Overrides the batch linker for this note."
    )


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
    ruleset_version: str = Field(
        ..., description="The version results of the default linker carry."
    )
    build_seconds: float | None = Field(
        ..., description="Seconds the default linker's pipeline took to build."
    )
    linker: LinkerName = Field(..., description="The server's default linker.")  # type: ignore[valid-type]
    linkers_built: list[LinkerName] = Field(  # type: ignore[valid-type]
        ...,
        description="Linkers whose pipeline is built in this worker process: the default one, "
        "and each other one once a request has asked for it.",
    )


class PolicyInfo(BaseModel):
    title: str
    source: str
    description: str
    groups: dict[str, list[str]]


class LinkerInfo(BaseModel):
    description: str = Field(..., description="Who decides which vessels an IVUS examined.")
    extractor_version: str | None = Field(
        ..., description="The extractor version with this linker (null: its weights are unusable)."
    )
    ruleset_version: str | None = Field(
        ..., description="The ruleset_version its results carry (null as above)."
    )


class VesselInfo(_Out):
    """A row of the vessel table (names and abbreviations included)."""

    id: str
    label: str
    system: str
    paired: bool
    territory: str


class Rules(BaseModel):
    """What a result depends on: versions, policies, settings, flags and the vessel table."""

    ruleset_version: str = Field(..., description="Of results made with the default linker.")
    core_version: str
    extractor_version: str = Field(..., description="Of the default linker's pipeline.")
    default_policy: str
    default_linker: LinkerName = Field(  # type: ignore[valid-type]
        ..., description="The linker used when a request names none (`serve --linker`)."
    )
    linkers: dict[str, LinkerInfo] = Field(
        ..., description="Every linker a request may name, with the versions its results carry."
    )
    policies: dict[str, PolicyInfo]
    settings: dict[str, Any]
    documentation_modes: dict[str, str]
    flags: dict[str, str]
    bundling_services: dict[str, dict[str, Any]]
    vessels: list[VesselInfo]
    generic_vessels: list[dict[str, Any]]
    coronary_vessels: list[dict[str, Any]]
    regions: list[dict[str, Any]]
