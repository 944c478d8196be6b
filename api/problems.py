"""Errors as RFC 9457 problem details (``application/problem+json``), or as a FHIR
``OperationOutcome`` on the FHIR endpoints.

Every error the service returns goes through :func:`render`: a stable ``type`` URI
(``urn:ivus-coder:problem:<slug>``), the HTTP ``status``, a short ``title``, a ``detail`` safe to
show (never a stack trace, never note text), the request path as ``instance``, the request id,
and the numbered error ``code`` (``E0xx``/``E1xx``, :mod:`rules_core.errors`) when one applies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from rules_core.errors import IvusCoderError

from .identifiers import ERROR_SYSTEM, PROBLEM_PREFIX

PROBLEM_JSON = "application/problem+json"
FHIR_JSON = "application/fhir+json"

# slug → (status, title); the titles do not change between occurrences (RFC 9457 §3.1.3).
TYPES: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "The request body is not valid JSON"),
    "malformed-hl7": (400, "The HL7 v2 message could not be parsed"),
    "unauthorized": (401, "Authentication required"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "body-too-large": (413, "Request body too large"),
    "batch-too-large": (413, "Too many documents in one batch"),
    "document-too-large": (413, "Document too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "invalid-request": (422, "The request does not match the API schema"),
    "invalid-setting": (422, "Unknown policy or invalid coding setting"),
    "invalid-document": (422, "The document cannot be coded"),
    "invalid-fhir-resource": (422, "Not a usable FHIR DocumentReference or Bundle"),
    "unsupported-hl7-message": (422, "Not an HL7 v2 document message with content"),
    "rate-limited": (429, "Too many requests"),
    "internal-error": (500, "Internal error"),
    "not-ready": (503, "The coding pipeline is not ready"),
}

# Numbered errors → problem slug (the status follows from the slug).
SLUG_OF_CODE: dict[str, str] = {
    "E004": "invalid-setting",
    "E005": "invalid-setting",
    "E006": "invalid-setting",
    "E011": "invalid-document",
    "E012": "invalid-document",
    "E013": "invalid-document",
    "E018": "document-too-large",
    "E103": "invalid-request",
    "E104": "batch-too-large",
    "E105": "invalid-fhir-resource",
    "E106": "invalid-document",
    "E107": "invalid-document",
    "E108": "malformed-hl7",
    "E109": "unsupported-hl7-message",
    "E110": "invalid-document",
    "E205": "invalid-setting",
}

# HTTP status → FHIR IssueType (http://hl7.org/fhir/issue-type).
FHIR_ISSUE_CODE = {
    400: "structure",
    401: "login",
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class Problem(Exception):
    """An error answer: raise it anywhere in a request; :func:`render` turns it into a response."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if slug not in TYPES:
            raise KeyError(slug)
        super().__init__(detail)
        self.slug = slug
        self.status, self.title = TYPES[slug]
        self.detail = detail
        self.code = code
        self.headers = dict(headers or {})
        self.extensions = extensions

    @classmethod
    def from_error(cls, error: IvusCoderError) -> Problem:
        """The problem for a numbered error (422 ``invalid-request`` for codes not mapped)."""
        return cls(SLUG_OF_CODE.get(error.code, "invalid-request"), error.detail, code=error.code)

    def body(self, instance: str, request_id: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": PROBLEM_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.code:
            out["code"] = self.code
        if request_id:
            out["request_id"] = request_id
        out.update(self.extensions)
        return out


def operation_outcome(problem: Problem, request_id: str | None = None) -> dict[str, Any]:
    """The FHIR R4 ``OperationOutcome`` for a problem (validated with fhir.resources R4B)."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    details: dict[str, Any] = {"text": problem.title}
    if problem.code:
        details["coding"] = [{"system": ERROR_SYSTEM, "code": problem.code}]
    issue: dict[str, Any] = {
        "severity": "error",
        "code": FHIR_ISSUE_CODE.get(problem.status, "processing"),
        "details": details,
        "diagnostics": problem.detail,
    }
    resource: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": [issue]}
    if request_id:
        resource["id"] = request_id
    return json.loads(OperationOutcome.model_validate(resource).model_dump_json(exclude_none=True))


def render(problem: Problem, path: str, request_id: str | None) -> Response:
    """problem+json, or an OperationOutcome when the path is a FHIR endpoint."""
    headers = dict(problem.headers)
    headers["Cache-Control"] = "no-store"
    if path.startswith("/fhir/"):
        body = operation_outcome(problem, request_id)
        media_type = FHIR_JSON
    else:
        body = problem.body(path, request_id)
        media_type = PROBLEM_JSON
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(content, status_code=problem.status, headers=headers, media_type=media_type)


def problem_for_status(status: int, detail: str | None = None) -> Problem:
    """A problem for a plain HTTP error raised by the framework (404, 405, ...)."""
    slug = {
        400: "malformed-json",
        401: "unauthorized",
        404: "not-found",
        405: "method-not-allowed",
        413: "body-too-large",
        415: "unsupported-media-type",
        422: "invalid-request",
        429: "rate-limited",
        503: "not-ready",
    }.get(status, "internal-error" if status >= 500 else "invalid-request")
    return Problem(slug, detail or TYPES[slug][1])


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "format": "uri", "example": PROBLEM_PREFIX + "invalid-document"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "Numbered error (rules_core/errors.py)."},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Schema violations (422 invalid-request): where and what.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "FHIR R4 OperationOutcome.",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}


def problem_responses(*statuses: int, fhir: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    descriptions = {
        400: "Malformed body",
        401: "Missing or unknown API key",
        413: "Body, batch or document over its limit",
        415: "Unsupported Content-Type",
        422: "Request or document cannot be processed",
        429: "Rate limit exceeded for this API key (see Retry-After)",
        503: "The coding pipeline is not ready yet (see Retry-After)",
    }
    if fhir:
        content = {FHIR_JSON: {"schema": OPERATION_OUTCOME_SCHEMA}}
    else:
        content = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}
    return {
        status: {"description": descriptions[status], "content": content} for status in statuses
    }
