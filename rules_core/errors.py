"""Numbered, centralized error messages (after spaCy's ``errors.py``).

Every error a user or a rule author can cause has a stable code, so that logs, problem+json
bodies and the command line all name the same failure the same way.
"""

from __future__ import annotations


class Errors:
    """Message templates; format with keyword arguments."""

    E001 = "Rule file {path} could not be read as JSON: {detail}"
    E002 = "Rule file {path} failed validation: {detail}"
    E003 = "Vessel id {vessel!r} in {where} is not defined in the vessel table."
    E004 = "Unknown policy {policy!r}; known policies: {known}."
    E005 = "Unknown documentation mode {mode!r}; known modes: {known}."
    E006 = "Setting mue_37253 must be a positive integer, got {value!r}."
    E007 = "Duplicate id {id!r} in {where}."
    E008 = "Fact {kind} {id!r} refers to unknown {ref_kind} {ref!r}."
    E009 = "Span {start}-{end} of {kind} {id!r} lies outside a text of {length} characters."
    E010 = "Policy group {group!r} mixes systems or names a generic or coronary vessel."
    E011 = "Document {doc!r} is empty."
    E012 = "Document {doc!r} is not valid UTF-8 text."
    E013 = "Document {doc!r} looks binary (NUL bytes or control characters)."
    E014 = "Document {doc!r} could not be read: {detail}"
    E015 = "Input {path!r} is not a .txt, .jsonl, .csv file, a folder or '-'."
    E016 = "CSV input {path!r} has no column {column!r}; columns are {columns}."
    E017 = "JSONL line {line} of {path!r} is not an object with 'id' and 'text': {detail}"
    E018 = "Document {doc!r} is {size} characters long, over the limit of {limit}."

    # E1xx: the HTTP service (api/service.py and its adapters).
    E101 = (
        "No API keys are configured: set IVUS_CODER_API_KEYS (comma-separated) or give a keys "
        "file (--api-keys-file); --insecure-no-auth turns authentication off, for local use only."
    )
    E102 = "API keys file {path!r} could not be read: {detail}"
    E103 = "Document {index} of the batch is not an object with a string 'text': {detail}"
    E104 = "A batch of {count} documents is over the limit of {limit} per request."
    E105 = "The request body is not a FHIR DocumentReference or a Bundle of them: {detail}"
    E106 = "DocumentReference {doc!r} has no text/plain attachment with inline base64 data."
    E107 = "Document {doc!r} declares charset {charset!r}, which is not supported."
    E108 = "The HL7 v2 message could not be parsed: {detail}"
    E109 = (
        "HL7 v2 message type {type!r} is not a document message with content "
        "(MDM^T02, T04, T06, T08 or T10)."
    )
    E110 = "HL7 v2 message {doc!r} holds no report text in its OBX segments."


class IvusCoderError(ValueError):
    """An error with a stable code (``E0xx``) and a message safe to show a user."""

    def __init__(self, code: str, **kwargs: object) -> None:
        self.code = code
        self.detail = getattr(Errors, code).format(**kwargs)
        super().__init__(f"[{code}] {self.detail}")


class RuleFileError(IvusCoderError):
    """A rule or data file is unreadable or invalid; raised at load, never at coding time."""


class DocumentError(IvusCoderError):
    """One input document cannot be coded (empty, not text, unreadable)."""
