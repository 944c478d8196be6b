"""Shared fixtures: one extraction pipeline per test session (building it takes ~0.5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MTSAMPLES = ROOT.parent / "shared" / "data" / "mtsamples" / "mtsamples_from_scrapy_httpcache.csv"


@pytest.fixture(scope="session")
def coder():
    from api.coding import Coder

    return Coder()


@pytest.fixture(scope="session")
def code(coder):
    """Code a note text under a policy and return the result dict."""

    def run(text: str, policy: str | None = None, **settings):
        chosen = coder.settings(**settings) if settings else None
        return coder.code_facts(text, policy=policy, settings=chosen).result

    return run


@pytest.fixture(scope="session")
def extract(coder):
    """The facts of a note text."""
    return coder.extractor.extract
