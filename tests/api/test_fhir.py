"""FHIR R4 ``$ivus-code``: the Bundle it answers (validated with fhir.resources R4B), its errors
as OperationOutcome, and per-document errors inside a Bundle."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from api.identifiers import CPT_SYSTEM, VESSEL_SYSTEM

from .conftest import AUTH
from .notes import ARTERIAL, CORONARY, DOCUMENT_REFERENCE, VENOUS

URL = "/fhir/DocumentReference/$ivus-code"
FHIR = {**AUTH, "Content-Type": "application/fhir+json"}


def post(client, body, **params):
    return client.post(URL, headers=FHIR, params=params, content=json.dumps(body).encode())


def document(
    text: str, doc_id: str | None = "doc-1", content_type: str = "text/plain", **extra
) -> dict:
    data = base64.b64encode(text.encode(extra.pop("encoding", "utf-8"))).decode()
    resource = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [{"attachment": {"contentType": content_type, "data": data}}],
        **extra,
    }
    if doc_id:
        resource["id"] = doc_id
    return resource


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def assert_outcome(response, status: int, issue_code: str, error_code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "error" and issue["code"] == issue_code
    if error_code:
        assert issue["details"]["coding"][0]["code"] == error_code
    assert "Traceback" not in response.text
    return issue


def test_document_reference_gives_charge_items_provenance_and_issues(client):
    response = post(client, DOCUMENT_REFERENCE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)  # a valid R4(B) Bundle, resources included
    assert bundle["type"] == "collection"
    result = client.post("/v1/code", headers=AUTH, json={"text": VENOUS}).json()
    charges = resources(bundle, "ChargeItem")
    assert [c["code"]["coding"][0]["code"] for c in charges] == ["37252", "37253"]
    for charge in charges:
        code = charge["code"]["coding"][0]
        assert code["system"] == CPT_SYSTEM
        assert charge["status"] == "planned"
        assert charge["quantity"]["value"] == result["codes"][code["code"]]
        assert charge["supportingInformation"] == [{"reference": "DocumentReference/venous-001"}]
        assert charge["subject"] == {"reference": "Patient/example"}
        assert charge["context"] == {"reference": "Encounter/example"}
        expected = {v for u in result["units"] if u["code"] == code["code"] for v in u["vessels"]}
        assert {b["coding"][0]["code"] for b in charge["bodysite"]} == expected
        assert all(b["coding"][0]["system"] == VESSEL_SYSTEM for b in charge["bodysite"])
    issues = resources(bundle, "DetectedIssue")
    assert [i["code"]["coding"][0]["code"] for i in issues] == [f["code"] for f in result["flags"]]
    assert all(i["status"] == "preliminary" for i in issues)
    (provenance,) = resources(bundle, "Provenance")
    assert provenance["policy"] == ["urn:ivus-coder:policy:sir"]
    assert result["ruleset_version"] in provenance["agent"][0]["who"]["display"]
    targets = {t["reference"] for t in provenance["target"]}
    produced = {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] != "Provenance"
    }
    assert targets == produced
    assert provenance["entity"][0]["what"] == {"reference": "DocumentReference/venous-001"}


def test_the_answer_is_deterministic_but_for_timestamps(client):
    first, second = post(client, DOCUMENT_REFERENCE).json(), post(client, DOCUMENT_REFERENCE).json()
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]


def test_policy_is_an_operation_parameter(client):
    arterial = document(ARTERIAL)
    sir = resources(post(client, arterial).json(), "ChargeItem")
    named = resources(post(client, arterial, policy="named-vessel").json(), "ChargeItem")
    assert [c["quantity"]["value"] for c in sir] == [1]
    assert [c["quantity"]["value"] for c in named] == [1, 1]
    provenance = resources(post(client, arterial, policy="named-vessel").json(), "Provenance")[0]
    assert provenance["policy"] == ["urn:ivus-coder:policy:named-vessel"]


def test_zero_units_is_an_informational_outcome_with_provenance(client):
    bundle = post(client, document(CORONARY)).json()
    assert not resources(bundle, "ChargeItem")
    (info,) = resources(bundle, "OperationOutcome")
    assert info["issue"][0]["severity"] == "information"
    (provenance,) = resources(bundle, "Provenance")
    assert len(provenance["target"]) == 1


def test_bundle_codes_each_document_and_reports_bad_ones_in_place(client):
    good = copy.deepcopy(DOCUMENT_REFERENCE)
    no_text = document(VENOUS, "doc-2", content_type="application/pdf")
    empty = document("   ", "doc-3")
    no_id = document(CORONARY, None, identifier=[{"system": "urn:test", "value": "acc-9"}])
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": good},
            {"resource": {"resourceType": "Patient", "id": "p1"}},
            {"resource": no_text},
            {"resource": empty},
            {"fullUrl": "urn:uuid:9a1f3e2c-0000-4000-8000-000000000001", "resource": no_id},
        ],
    }
    response = post(client, bundle)
    assert response.status_code == 200
    answer = response.json()
    Bundle.model_validate(answer)
    errors = [
        o for o in resources(answer, "OperationOutcome") if o["issue"][0]["severity"] == "error"
    ]
    assert [o["issue"][0]["details"]["coding"][0]["code"] for o in errors] == ["E106", "E011"]
    assert len(resources(answer, "ChargeItem")) == 2
    provenances = resources(answer, "Provenance")
    assert len(provenances) == 2
    assert provenances[1]["entity"][0]["what"] == {
        "reference": "urn:uuid:9a1f3e2c-0000-4000-8000-000000000001"
    }


def test_other_charsets_are_decoded(client):
    text = "Café note. " + VENOUS
    resource = document(text, content_type="text/plain; charset=ISO-8859-1", encoding="latin-1")
    assert len(resources(post(client, resource).json(), "ChargeItem")) == 2
    unknown = document(VENOUS, content_type="text/plain; charset=x-klingon")
    assert_outcome(post(client, unknown), 422, "invalid", "E107")


@pytest.mark.parametrize(
    ("body", "error_code"),
    [
        ({"resourceType": "Patient", "id": "p"}, "E105"),
        ([1, 2], "E105"),
        ({"resourceType": "DocumentReference", "status": "current"}, "E105"),
        (document(VENOUS, content_type="text/html"), "E106"),
        (document("  "), "E011"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "E105"),
        ({"resourceType": "Bundle", "type": "not-a-type"}, "E105"),
    ],
    ids=["patient", "array", "no-content", "html", "empty", "empty-bundle", "bad-bundle"],
)
def test_unusable_requests_are_422_operation_outcomes(client, body, error_code):
    assert_outcome(post(client, body), 422, "invalid", error_code)


def test_invalid_base64_is_422_without_echoing_it(client):
    resource = document(VENOUS)
    resource["content"][0]["attachment"]["data"] = "PHILIKETEXT"
    response = post(client, resource)
    assert_outcome(response, 422, "invalid", "E105")
    assert "PHILIKETEXT" not in response.text


def test_malformed_json_is_400_structure(client):
    response = client.post(URL, headers=FHIR, content=b'{"resourceType": ')
    assert_outcome(response, 400, "structure")


def test_errors_outside_the_body_are_operation_outcomes_too(client, make_app):
    assert_outcome(client.post(URL, json=DOCUMENT_REFERENCE), 401, "login")
    response = client.post(
        URL, headers={**AUTH, "Content-Type": "application/xml"}, content=b"<x/>"
    )
    assert_outcome(response, 415, "not-supported")
    assert_outcome(post(client, DOCUMENT_REFERENCE, policy="nope"), 422, "invalid")
    assert_outcome(client.get("/fhir/Patient/1", headers=AUTH), 404, "not-found")
    with TestClient(make_app(batch_limit=1)) as small:
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": DOCUMENT_REFERENCE}] * 2,
        }
        assert_outcome(post(small, bundle), 413, "too-costly", "E104")


def test_plain_json_content_type_is_accepted(client):
    response = client.post(URL, headers=AUTH, json=DOCUMENT_REFERENCE)
    assert response.status_code == 200
