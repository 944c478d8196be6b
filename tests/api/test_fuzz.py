"""A bounded schemathesis run over the OpenAPI document: every operation, its documented examples
and generated valid and invalid requests; no 5xx, and every answer as documented (status, content
type, headers, schema), invalid data rejected, authentication enforced, wrong methods refused."""

from __future__ import annotations

import time
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from api.auth import KeyStore
from api.config import ServiceSettings
from api.service import create_app

from .conftest import API_KEY, AUTH

schemathesis.serializer.alias(["x-application/hl7-v2+er7", "application/hl7-v2"], "text/plain")

MAX_EXAMPLES = 100
STATS: Counter[str] = Counter()


# Built at import (schemathesis parametrizes at collection); the pipeline is built on the first
# coding request, on the app's own coding thread. No rate limit: one key sends every request.
APP = create_app(ServiceSettings(rate_limit=0), keys=KeyStore.from_keys([API_KEY]))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_answers_as_documented(case):
    started = time.perf_counter()
    response = case.call_and_validate(
        headers=AUTH,
        # Every default check but "schema-valid data is accepted": the schema gives the shape;
        # a note of the right shape can still be unusable (blank, binary, not an MDM), which is
        # a documented 400/422 problem, by design.
        excluded_checks=[checks.positive_data_acceptance],
    )
    STATS["requests"] += 1
    STATS[f"status {response.status_code}"] += 1
    STATS["ms"] += int((time.perf_counter() - started) * 1000)
    assert response.status_code < 500


def test_report_fuzz_figures(capsys):
    """Print what the run above did (visible with -s, and in the report)."""
    with capsys.disabled():
        print(f"\nschemathesis: {dict(sorted(STATS.items()))}")
