"""Numbered errors of the learned components (E2xx), in the style of ``rules_core/errors.py``.

A weights file that cannot be used fails when it is loaded, with a stable code, never while a
note is being coded. The errors are :class:`rules_core.errors.RuleFileError` subclasses, so the
command line and the service report them as they report a bad rule file.
"""

from __future__ import annotations

from rules_core.errors import RuleFileError


class ModelErrors:
    """Message templates; format with keyword arguments."""

    E201 = "Linker weights {path} could not be read as JSON: {detail}"
    E202 = "Linker weights {path} failed validation: {detail}"
    E203 = (
        "Linker weights {path} were trained with feature specification {found!r}, but this "
        "code computes {expected!r}: retrain them with 'ivus-coder train-linker'."
    )
    E204 = "Linker weights {path} have no head {mode!r}; heads: {known}."
    E205 = "Unknown linker {mode!r}; known linkers: {known}."
    E206 = "No training examples: the corpus at {path} has no {splits} documents with IVUS."
    E207 = "Corpus folder {path} has no {name} (give the corpus folder with --corpus)."


class ModelFileError(RuleFileError):
    """A learned component's weights or training data are unusable (``E2xx``)."""

    def __init__(self, code: str, **kwargs: object) -> None:
        self.code = code
        self.detail = getattr(ModelErrors, code).format(**kwargs)
        ValueError.__init__(self, f"[{code}] {self.detail}")
