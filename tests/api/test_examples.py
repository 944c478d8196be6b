"""The OpenAPI examples (``api/examples/*.json``) run as tests: each request is sent as
documented, and its answer must meet the example's ``expect``."""

from __future__ import annotations

from typing import Any

import pytest

from api.openapi import Example, load_examples

from .conftest import AUTH

EXAMPLES = load_examples()


def assert_subset(expected: Any, actual: Any, where: str = "$") -> None:
    """Dicts: every expected key, recursively; lists: expected items match the first ones."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        if not expected:
            assert actual == [], f"{where}: expected an empty list, got {actual!r}"
        assert len(actual) >= len(expected), (
            f"{where}: {len(actual)} items, expected {len(expected)}+"
        )
        for index, value in enumerate(expected):
            assert_subset(value, actual[index], f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def send(client, example: Example):
    headers = {**AUTH, "Content-Type": example.content_type, **example.headers}
    return client.request(
        example.method,
        example.path,
        params=example.query,
        headers=headers,
        content=example.raw_body(),
    )


def test_there_are_examples_for_every_coding_endpoint():
    covered = {(e.method, e.path) for e in EXAMPLES}
    assert covered >= {
        ("POST", "/v1/code"),
        ("POST", "/v1/code/batch"),
        ("POST", "/fhir/DocumentReference/$ivus-code"),
        ("POST", "/hl7v2/mdm"),
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_answers_as_documented(client, example: Example):
    response = send(client, example)
    expect = example.expect
    assert response.status_code == expect["status"], response.text
    assert response.headers["content-type"].startswith(expect["content_type"])
    if "json" in expect:
        assert_subset(expect["json"], response.json())
    for key in expect.get("keys", []):
        assert key in response.json()
    if "resources" in expect:
        kinds = [entry["resource"]["resourceType"] for entry in response.json()["entry"]]
        for kind, count in expect["resources"].items():
            assert kinds.count(kind) == count, f"{kind}: {kinds}"
    for fragment in expect.get("contains", []):
        assert fragment in response.text, fragment


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_is_in_the_openapi_document(client, example: Example):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"][example.path][example.method.lower()]
    media = operation["requestBody"]["content"][example.content_type]
    documented = media["examples"][example.name]
    assert documented["summary"] == example.summary
    if isinstance(example.body, str):
        assert documented["value"] == example.raw_body().decode()
    else:
        assert documented["value"] == example.body
