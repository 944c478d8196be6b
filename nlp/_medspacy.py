"""The medspaCy pieces we use, imported without their side effects.

medspaCy 1.3.1 imports QuickUMLS (and with it nltk and scipy, ~1 s) from ``medspacy.util`` at
import time, although only ``medspacy.load`` uses it, and ``medspacy.common.medspacy_matcher``
calls ``warnings.filterwarnings("ignore")`` for the whole process (DESIGN.md pitfalls). Here
QuickUMLS is deferred behind a proxy that imports it on first real use, and the warning filters
are restored after the import. Import medspaCy classes from this module only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings
from typing import Any


class _DeferredModule:
    """Stands for ``quickumls.<name>`` until an attribute is read, then imports it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._name)
        return getattr(module, attr)


def _defer_quickumls() -> None:
    if "quickumls" in sys.modules:
        return
    spec = importlib.util.find_spec("quickumls")
    if spec is None or not spec.submodule_search_locations:
        return
    shim = types.ModuleType("quickumls")
    shim.__path__ = list(spec.submodule_search_locations)
    shim.__doc__ = "Deferred by nlp._medspacy: imports the real submodules on first use."
    shim.spacy_component = _DeferredModule("quickumls.spacy_component")  # type: ignore[attr-defined]
    sys.modules["quickumls"] = shim


_defer_quickumls()
_filters = list(warnings.filters)
try:
    from medspacy.context import ConText, ConTextRule
    from medspacy.section_detection import Sectionizer, SectionRule
    from medspacy.target_matcher import TargetMatcher, TargetRule
finally:
    warnings.filters[:] = _filters
# medspaCy builds a token Matcher for every rule set and calls it even when all rules are
# phrases; spaCy then warns W036 ("no patterns") on every document. Nothing is wrong.
warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)

__all__ = ["ConText", "ConTextRule", "SectionRule", "Sectionizer", "TargetMatcher", "TargetRule"]
