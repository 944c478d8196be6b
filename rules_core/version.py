"""The ruleset version every result carries (RULEBOOK 7): the package version plus a digest of
the coding data files and the coding code, and the extractor's own version. Same text, same
policy, same version → same result, even between two builds of one package version."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files

from .ontology import load_ontology
from .policy import load_policies

CODING_MODULES = ("coder", "normalize", "ontology", "policy", "types", "version")
"""The modules of this package whose logic decides a result (not the corpus tools)."""


def source_bytes(package: str, modules: tuple[str, ...]) -> bytes:
    """The source of ``modules`` of ``package``, in order, with line endings normalized, for a
    version digest that changes when the logic does."""
    root = files(package)
    return b"".join(
        root.joinpath(f"{name}.py").read_bytes().replace(b"\r\n", b"\n") for name in modules
    )


@cache
def core_version() -> str:
    """``<package version>+core.<sha256[:10] of vessels, policies, settings and the coding
    modules>``."""
    try:
        package = version("ivus-coder")
    except PackageNotFoundError:  # running from a source tree
        package = "0+unknown"
    data = load_ontology().raw + load_policies().raw
    digest = hashlib.sha256(data + source_bytes(__package__, CODING_MODULES)).hexdigest()[:10]
    return f"{package}+core.{digest}"


def ruleset_version(extractor_version: str) -> str:
    """Full version string of a result: the coding core and the extractor that made the facts."""
    return f"{core_version()}.{extractor_version}"
