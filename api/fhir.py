"""FHIR R4 adapter for ``$ivus-code``: DocumentReference (or a Bundle of them) in, a Bundle of
ChargeItem, DetectedIssue and Provenance out. Every resource is validated with fhir.resources'
R4B models (R4B shares R4's ChargeItem, DocumentReference, DetectedIssue, Provenance and Bundle).

Per document, the answer holds:
- one ``ChargeItem`` per code line (status ``planned``; code: CPT; quantity: the units; bodysite:
  the vessels; supportingInformation: the DocumentReference; subject and encounter copied from
  the DocumentReference; a note naming the policy groups);
- one ``DetectedIssue`` per review flag (status ``preliminary``), implicating the ChargeItems;
- an ``OperationOutcome`` (information) when nothing was proposed and nothing flagged, so that a
  zero result is still an auditable answer;
- a ``Provenance`` targeting all of them, naming the ruleset version (agent) and the policy.
A document that cannot be coded gets an ``OperationOutcome`` (error) in its place.
"""

from __future__ import annotations

import base64
import codecs
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from rules_core.errors import DocumentError, IvusCoderError

from .coding import decode_document
from .identifiers import (
    CPT_DISPLAY,
    CPT_SYSTEM,
    DEVICE_NAME,
    ERROR_SYSTEM,
    FLAG_SYSTEM,
    POLICY_PREFIX,
    VESSEL_SYSTEM,
)
from .problems import Problem

_NAMESPACE = uuid.UUID("5b0c55a4-7c1e-4f4e-9d7e-2f1d0a3e9c11")
MISSING_SUBJECT = {"display": "subject not given in the DocumentReference"}


@dataclass(slots=True)
class FhirDocument:
    """One DocumentReference of the request: its text, or why it has none."""

    index: int
    document_id: str
    reference: dict[str, Any]
    subject: dict[str, Any] | None = None
    encounter: dict[str, Any] | None = None
    period: dict[str, Any] | None = None
    text: str | None = None
    error: IvusCoderError | None = None


def _brief(exc: ValidationError, limit: int = 3) -> str:
    """Where and what, without the offending input (which may be note text)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "resource"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def read_request(body: bytes, limit: int) -> tuple[list[FhirDocument], bool]:
    """The documents of a ``$ivus-code`` request, and whether it was a single DocumentReference.

    400 for a body that is not JSON; E105 for one that is neither resource; E104 for more
    DocumentReferences than ``limit``. A single DocumentReference's problem is raised; in a
    Bundle, problems are kept on the documents, so one bad entry never fails the Bundle."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem("malformed-json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise IvusCoderError("E105", detail="the body is not a JSON object")
    kind = data.get("resourceType")
    if kind == "DocumentReference":
        document = _read_document(data, 0, None)
        if document.error is not None:
            raise document.error
        return [document], True
    if kind != "Bundle":
        raise IvusCoderError("E105", detail=f"resourceType is {kind!r}")
    return _read_bundle(data, limit), False


def _read_bundle(data: dict[str, Any], limit: int) -> list[FhirDocument]:
    from fhir.resources.R4B.bundle import Bundle

    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise IvusCoderError("E105", detail="Bundle.entry is not a list")
    envelope = {
        **data,
        "entry": [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
            for e in entries
        ],
    }
    try:
        Bundle.model_validate(envelope)
    except ValidationError as exc:
        raise IvusCoderError("E105", detail=_brief(exc)) from exc
    documents: list[FhirDocument] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") != "DocumentReference":
            continue
        documents.append(_read_document(resource, index, entry.get("fullUrl")))
    if not documents:
        raise IvusCoderError("E105", detail="the Bundle holds no DocumentReference")
    if len(documents) > limit:
        raise IvusCoderError("E104", count=len(documents), limit=limit)
    return documents


def _read_document(data: dict[str, Any], index: int, full_url: str | None) -> FhirDocument:
    from fhir.resources.R4B.documentreference import DocumentReference

    fallback_id = f"entry-{index}"
    try:
        resource = DocumentReference.model_validate(data)
    except ValidationError as exc:
        ident = data.get("id") if isinstance(data.get("id"), str) else fallback_id
        return FhirDocument(
            index,
            ident,
            _reference(ident if ident != fallback_id else None, None, full_url, index),
            error=IvusCoderError("E105", detail=_brief(exc)),
        )
    plain = json.loads(resource.model_dump_json(exclude_none=True))
    identifier = (plain.get("identifier") or [None])[0]
    document_id = resource.id or (identifier or {}).get("value") or fallback_id
    context = plain.get("context") or {}
    document = FhirDocument(
        index=index,
        document_id=document_id,
        reference=_reference(resource.id, identifier, full_url, index),
        subject=plain.get("subject"),
        encounter=(context.get("encounter") or [None])[0],
        period=context.get("period"),
    )
    try:
        document.text = _attachment_text(resource, document_id)
    except IvusCoderError as exc:
        document.error = exc
    return document


def _reference(
    resource_id: str | None, identifier: dict[str, Any] | None, full_url: str | None, index: int
) -> dict[str, Any]:
    if resource_id:
        return {"reference": f"DocumentReference/{resource_id}"}
    if full_url:
        return {"reference": full_url}
    if identifier and identifier.get("value"):
        return {"type": "DocumentReference", "identifier": identifier}
    return {"type": "DocumentReference", "display": f"DocumentReference {index} of the request"}


def _attachment_text(resource: Any, document_id: str) -> str:
    """Text of the first text/plain attachment with inline data (E106, E107, E012, E013)."""
    for content in resource.content or []:
        attachment = content.attachment
        media, _, params = (attachment.contentType or "").partition(";")
        if media.strip().lower() != "text/plain" or attachment.data is None:
            continue
        raw = (
            attachment.data
            if isinstance(attachment.data, bytes)
            else base64.b64decode(attachment.data)
        )
        charset = "utf-8"
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"').lower()
        try:
            codec = codecs.lookup(charset).name
        except LookupError as exc:
            raise IvusCoderError("E107", doc=document_id, charset=charset) from exc
        if codec == "utf-8":
            return decode_document(raw, document_id)
        if b"\x00" in raw:
            raise DocumentError("E013", doc=document_id)
        try:
            return raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise DocumentError("E012", doc=document_id) from exc
    raise IvusCoderError("E106", doc=document_id)


# --- the answer -------------------------------------------------------------------------------
def _uuid(*parts: object) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _vessel_concept(vessel_id: str, label: str) -> dict[str, Any]:
    return {
        "coding": [{"system": VESSEL_SYSTEM, "code": vessel_id, "display": label}],
        "text": label,
    }


def _charge_items(
    document: FhirDocument, result: dict[str, Any], key: str
) -> list[tuple[str, dict[str, Any]]]:
    labels = {v["id"]: v["label"] for v in result["vessels"]}
    items = []
    for code in ("37252", "37253"):
        units = [u for u in result["units"] if u["code"] == code]
        if not units:
            continue
        vessels = list(dict.fromkeys(v for u in units for v in u["vessels"]))
        groups = "; ".join(
            u["group"]
            + (
                f" (one continuous lesion: {u['merged_by']['text']!r})"
                if u.get("merged_by")
                else ""
            )
            for u in units
        )
        resource: dict[str, Any] = {
            "resourceType": "ChargeItem",
            "status": "planned",
            "code": {
                "coding": [{"system": CPT_SYSTEM, "code": code, "display": CPT_DISPLAY[code]}],
                "text": f"+{code}",
            },
            "subject": document.subject or MISSING_SUBJECT,
            "quantity": {"value": len(units)},
            "bodysite": [_vessel_concept(v, labels.get(v, v)) for v in vessels],
            "supportingInformation": [document.reference],
            "note": [{"text": f"Policy {result['policy']} groups: {groups}"}],
        }
        if document.encounter:
            resource["context"] = document.encounter
        if document.period:
            resource["occurrencePeriod"] = document.period
        items.append((_uuid(key, "ChargeItem", code), resource))
    return items


def _detected_issues(
    document: FhirDocument,
    result: dict[str, Any],
    text: str,
    key: str,
    implicated: list[dict[str, Any]],
    now: str,
) -> list[tuple[str, dict[str, Any]]]:
    issues = []
    for number, flag in enumerate(result["flags"]):
        detail = flag["message"]
        if flag["end"] > flag["start"]:
            quoted = text[flag["start"] : flag["end"]]
            detail += f' (at characters {flag["start"]}-{flag["end"]}: "{quoted}")'
        resource: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "status": "preliminary",
            "code": {
                "coding": [{"system": FLAG_SYSTEM, "code": flag["code"]}],
                "text": flag["code"],
            },
            "severity": "moderate",
            "identifiedDateTime": now,
            "author": {"display": DEVICE_NAME},
            "implicated": implicated or [document.reference],
            "detail": detail,
            "evidence": [{"detail": [document.reference]}],
        }
        if (document.subject or {}).get("reference", "").startswith("Patient/"):
            resource["patient"] = document.subject
        issues.append((_uuid(key, "DetectedIssue", number, flag["code"]), resource))
    return issues


def _outcome(
    severity: str, code: str, diagnostics: str, error_code: str | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if error_code:
        issue["details"] = {"coding": [{"system": ERROR_SYSTEM, "code": error_code}]}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def document_entries(
    document: FhirDocument, outcome: dict[str, Any] | IvusCoderError, now: str | None = None
) -> list[dict[str, Any]]:
    """Bundle entries for one document: its coding result, or its error."""
    now = now or _now()
    key = f"{document.index}|{json.dumps(document.reference, sort_keys=True)}"
    if isinstance(outcome, IvusCoderError):
        resource = _outcome(
            "error", "invalid", f"{document.document_id}: {outcome.detail}", outcome.code
        )
        return [{"fullUrl": _uuid(key, "error", outcome.code), "resource": resource}]
    result = outcome
    key += f"|{result['ruleset_version']}|{result['policy']}"
    charges = _charge_items(document, result, key)
    implicated = [{"reference": url} for url, _ in charges]
    produced = charges + _detected_issues(
        document, result, document.text or "", key, implicated, now
    )
    if not produced:
        info = _outcome(
            "information",
            "informational",
            f"{document.document_id}: no +37252/+37253 charge proposed "
            f"(policy {result['policy']}).",
        )
        produced.append((_uuid(key, "OperationOutcome"), info))
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url, _ in produced],
        "recorded": now,
        "policy": [POLICY_PREFIX + result["policy"]],
        "activity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                    "code": "CREATE",
                }
            ]
        },
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "assembler",
                        }
                    ]
                },
                "who": {"display": f"{DEVICE_NAME} ruleset {result['ruleset_version']}"},
            }
        ],
        "entity": [{"role": "source", "what": document.reference}],
    }
    produced.append((_uuid(key, "Provenance"), provenance))
    return [{"fullUrl": url, "resource": resource} for url, resource in produced]


def response_bundle(entries: list[dict[str, Any]], now: str | None = None) -> dict[str, Any]:
    """The answer Bundle (type ``collection``), validated with fhir.resources R4B."""
    from fhir.resources.R4B.bundle import Bundle

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now or _now(),
        "entry": entries,
    }
    return json.loads(Bundle.model_validate(bundle).model_dump_json(exclude_none=True))
