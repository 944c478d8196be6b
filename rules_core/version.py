"""The ruleset version every result carries (RULEBOOK 7): the package version plus a digest of
the coding data files, and the extractor's own version. Same text, same policy, same version →
same result."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from .ontology import load_ontology
from .policy import load_policies


@cache
def core_version() -> str:
    """``<package version>+core.<sha256[:10] of vessels, policies and settings>``."""
    try:
        package = version("ivus-coder")
    except PackageNotFoundError:  # running from a source tree
        package = "0+unknown"
    digest = hashlib.sha256(load_ontology().raw + load_policies().raw).hexdigest()[:10]
    return f"{package}+core.{digest}"


def ruleset_version(extractor_version: str) -> str:
    """Full version string of a result: the coding core and the extractor that made the facts."""
    return f"{core_version()}.{extractor_version}"
