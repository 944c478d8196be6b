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
