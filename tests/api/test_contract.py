"""Contract tests of the JSON endpoints: answers, every error status, authentication."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from fastapi.testclient import TestClient

from api.auth import KeyStore
from api.config import ServiceSettings
from api.explain import highlight_spans
from api.problems import PROBLEM_JSON
from api.service import create_app

from .conftest import API_KEY, AUTH
from .notes import ARTERIAL, CORONARY, VENOUS

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response, status: int, slug: str, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"] == f"urn:ivus-coder:problem:{slug}"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    if code:
        assert body["code"] == code
    return body


# --- health, readiness, metrics, rules --------------------------------------------------------
def test_healthz_needs_no_key(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ready_with_a_built_pipeline(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert (
        body["ruleset_version"] == client.get("/v1/rules", headers=AUTH).json()["ruleset_version"]
    )


def test_readyz_is_503_until_the_pipeline_is_built(coder):
    release = threading.Event()

    def slow_build(linker):
        release.wait(10)
        return coder

    app = create_app(ServiceSettings(), keys=KeyStore.from_keys([API_KEY]), factory=slow_build)
    with TestClient(app) as client:
        response = client.get("/readyz")
        body = assert_problem(response, 503, "not-ready")
        assert response.headers["retry-after"] == "1"
        assert "being built" in body["detail"]
        assert client.get("/healthz").status_code == 200  # the loop is not blocked by the build
        release.set()
        # a request queued behind the build waits for it, then is coded
        coded = client.post("/v1/code", headers=AUTH, json={"text": VENOUS})
        assert coded.status_code == 200
        assert client.get("/readyz").status_code == 200


def test_a_failed_build_reports_not_ready_and_codes_nothing():
    def broken(linker):
        raise RuntimeError("rule file broken")

    app = create_app(ServiceSettings(), keys=KeyStore.from_keys([API_KEY]), factory=broken)
    with TestClient(app) as client:
        response = client.post("/v1/code", headers=AUTH, json={"text": VENOUS})
        assert_problem(response, 503, "not-ready")
        body = assert_problem(client.get("/readyz"), 503, "not-ready")
        assert "rule file broken" in body["detail"]


def test_rules_lists_versions_policies_and_the_vessel_table(client):
    response = client.get("/v1/rules", headers=AUTH)
    assert response.status_code == 200
    rules = response.json()
    assert {"sir", "named-vessel"} <= set(rules["policies"])
    assert rules["default_policy"] == "sir"
    assert rules["policies"]["sir"]["groups"]["artery.external_iliac+common_femoral"] == [
        "artery.external_iliac",
        "artery.common_femoral",
    ]
    ids = {v["id"] for v in rules["vessels"]}
    assert {"vein.common_iliac", "artery.superficial_femoral", "vein.inferior_vena_cava"} <= ids
    assert any(c["id"].startswith("coronary.") for c in rules["coronary_vessels"])
    assert "laterality-missing" in rules["flags"]
    assert rules["ruleset_version"].startswith(rules["core_version"])
    result = client.post("/v1/code", headers=AUTH, json={"text": VENOUS}).json()
    assert result["ruleset_version"] == rules["ruleset_version"]


def test_metrics_count_requests_documents_and_units(make_app):
    with TestClient(make_app()) as client:
        client.post("/v1/code", headers=AUTH, json={"text": VENOUS})
        client.post("/v1/code", headers=AUTH, json={"text": " "})
        text = client.get("/metrics").text
    assert 'ivus_coder_http_requests_total{method="POST",route="/v1/code",status="200"} 1.0' in text
    assert 'ivus_coder_http_requests_total{method="POST",route="/v1/code",status="422"} 1.0' in text
    assert 'ivus_coder_documents_total{interface="json",outcome="coded"} 1.0' in text
    assert 'ivus_coder_documents_total{interface="json",outcome="error"} 1.0' in text
    assert 'ivus_coder_units_proposed_total{code="37252"} 1.0' in text
    assert 'ivus_coder_units_proposed_total{code="37253"} 2.0' in text
    assert "ivus_coder_http_request_duration_seconds_bucket" in text
    assert "ivus_coder_coding_duration_seconds_count 1.0" in text


# --- /v1/code ---------------------------------------------------------------------------------
def test_code_returns_the_result_contract(client):
    response = client.post("/v1/code", headers=AUTH, json={"id": "n1", "text": VENOUS})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    result = response.json()
    assert set(result) >= {
        "document_id", "policy", "ruleset_version", "codes", "units", "vessels", "excluded",
        "suppressed", "flags",
    }  # fmt: skip
    assert result["document_id"] == "n1"
    assert result["policy"] == "sir"
    assert result["codes"] == {"37252": 1, "37253": 2}
    for code in ("37252", "37253"):
        assert result["codes"][code] == sum(u["code"] == code for u in result["units"])
    assert "spans" not in result
    for vessel in result["vessels"]:
        for evidence in vessel["evidence"]:
            assert VENOUS[evidence["start"] : evidence["end"]] == evidence["text"]


def test_code_policy_switch_changes_the_lines(client):
    sir = client.post("/v1/code", headers=AUTH, json={"text": ARTERIAL, "policy": "sir"}).json()
    named = client.post(
        "/v1/code", headers=AUTH, json={"text": ARTERIAL, "policy": "named-vessel"}
    ).json()
    assert (sir["codes"], named["codes"]) == ({"37252": 1, "37253": 0}, {"37252": 1, "37253": 1})
    assert named["policy"] == "named-vessel"


def test_code_settings_are_applied_and_echoed(client):
    result = client.post(
        "/v1/code", headers=AUTH, json={"text": VENOUS, "documentation": "strict", "mue_37253": 1}
    ).json()
    assert result["settings"] == {"documentation": "strict", "mue_37253": 1}


def test_code_with_spans_matches_the_explain_highlights(client, coder):
    response = client.post("/v1/code?include=spans", headers=AUTH, json={"text": VENOUS})
    result = response.json()
    spans = result["spans"]
    assert spans
    for span in spans:
        assert VENOUS[span["start"] : span["end"]] == span["text"]
    facts = coder.code_facts(VENOUS).facts
    assert [(s["start"], s["end"], s["style"]) for s in spans] == highlight_spans(facts)
    examined = {s["id"] for s in spans if s["style"] == "vessel-examined"}
    ivus_links = {v for s in spans if s["type"] == "ivus" for v in s["links"]}
    assert examined == ivus_links
    vessel_ids = {v["id"] for v in result["vessels"]}
    assert vessel_ids == {v for s in spans for v in s["vessels"]}


def test_offsets_count_code_points(client):
    text = "😀 Note 🩺. " + VENOUS
    result = client.post("/v1/code?include=spans", headers=AUTH, json={"text": text}).json()
    for span in result["spans"]:
        assert text[span["start"] : span["end"]] == span["text"]


# --- authentication and rate limits -----------------------------------------------------------
PROTECTED = [
    ("POST", "/v1/code", {"json": {"text": VENOUS}}),
    ("POST", "/v1/code/batch", {"json": {"documents": [{"text": VENOUS}]}}),
    ("GET", "/v1/rules", {}),
    (
        "POST",
        "/hl7v2/mdm",
        {"content": b"MSH|^~\\&|A", "headers": {"Content-Type": "x-application/hl7-v2+er7"}},
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), PROTECTED, ids=[p for _, p, _ in PROTECTED])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key-0123456789", f"Basic {API_KEY}", "Bearer "],
    ids=["missing", "unknown", "basic", "empty"],
)
def test_protected_endpoints_need_a_known_key(client, method, path, kwargs, authorization):
    kwargs = dict(kwargs)
    headers = dict(kwargs.pop("headers", {}))
    if authorization:
        headers["Authorization"] = authorization
    response = client.request(method, path, headers=headers, **kwargs)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="ivus-coder"'


def test_keys_from_the_environment_and_a_keys_file(coder, tmp_path, monkeypatch):
    keys_file = tmp_path / "keys"
    keys_file.write_text("# team keys\nfile-key-0123456789abcdef\n\n", encoding="utf-8")
    monkeypatch.setenv("IVUS_CODER_API_KEYS", "env-key-0123456789abcdef, other-key-0123456789ab")
    app = create_app(ServiceSettings(api_keys_file=str(keys_file)), coder=coder)
    with TestClient(app) as client:
        for key in (
            "file-key-0123456789abcdef",
            "env-key-0123456789abcdef",
            "other-key-0123456789ab",
        ):
            assert (
                client.get("/v1/rules", headers={"Authorization": f"Bearer {key}"}).status_code
                == 200
            )
        assert client.get("/v1/rules", headers=AUTH).status_code == 401


def test_no_keys_refuses_to_build_the_app(coder, monkeypatch):
    from rules_core.errors import IvusCoderError

    monkeypatch.delenv("IVUS_CODER_API_KEYS", raising=False)
    with pytest.raises(IvusCoderError) as error:
        create_app(ServiceSettings(), coder=coder)
    assert error.value.code == "E101"
    app = create_app(ServiceSettings(insecure_no_auth=True), coder=coder)
    with TestClient(app) as client:
        assert client.post("/v1/code", json={"text": VENOUS}).status_code == 200
        assert "security" not in client.get("/openapi.json").json()["paths"]["/v1/code"]["post"]


def test_rate_limit_answers_429_with_retry_after(make_app):
    with TestClient(make_app(rate_limit=0.5, rate_burst=2)) as client:
        assert client.get("/v1/rules", headers=AUTH).status_code == 200
        assert client.get("/v1/rules", headers=AUTH).status_code == 200
        response = client.get("/v1/rules", headers=AUTH)
        assert_problem(response, 429, "rate-limited")
        assert int(response.headers["retry-after"]) >= 1
        assert client.get("/healthz").status_code == 200  # not rate limited


# --- errors -----------------------------------------------------------------------------------
def test_malformed_json_is_400(client):
    response = client.post(
        "/v1/code", headers={**AUTH, "Content-Type": "application/json"}, content=b'{"text": '
    )
    assert_problem(response, 400, "malformed-json")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/xml", "multipart/form-data"]
)
def test_wrong_media_type_is_415(client, content_type):
    headers = dict(AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(
        "/v1/code", headers=headers, content=json.dumps({"text": VENOUS}).encode()
    )
    body = assert_problem(response, 415, "unsupported-media-type")
    assert "application/json" in body["detail"]


def test_media_type_parameters_are_accepted(client):
    headers = {**AUTH, "Content-Type": "application/json; charset=utf-8"}
    response = client.post(
        "/v1/code", headers=headers, content=json.dumps({"text": VENOUS}).encode()
    )
    assert response.status_code == 200


def test_body_over_the_limit_is_413(make_app):
    with TestClient(make_app(max_body_bytes=2048)) as client:
        big = json.dumps({"text": "IVUS " * 1000}).encode()
        response = client.post(
            "/v1/code", headers={**AUTH, "Content-Type": "application/json"}, content=big
        )
        body = assert_problem(response, 413, "body-too-large")
        assert "2048" in body["detail"]


def test_streamed_body_over_the_limit_is_413(make_app):
    def chunks():
        yield b'{"text": "'
        for _ in range(10):
            yield b"IVUS " * 100
        yield b'"}'

    with TestClient(make_app(max_body_bytes=2048)) as client:
        response = client.post(
            "/v1/code", headers={**AUTH, "Content-Type": "application/json"}, content=chunks()
        )
        assert_problem(response, 413, "body-too-large")


def test_document_over_the_character_limit_is_413(make_app):
    with TestClient(make_app(max_body_bytes=3 * 1024 * 1024)) as client:
        response = client.post("/v1/code", headers=AUTH, json={"text": "a" * 1_000_001})
        assert_problem(response, 413, "document-too-large", "E018")


@pytest.mark.parametrize(
    ("text", "code"),
    [("   \n\t", "E011"), ("IVUS \x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 3, "E013")],
)
def test_a_document_that_cannot_be_coded_is_422(client, text, code):
    response = client.post("/v1/code", headers=AUTH, json={"id": "bad", "text": text})
    body = assert_problem(response, 422, "invalid-document", code)
    assert "'bad'" in body["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        {"text": VENOUS, "policy": "no-such-policy"},
        {"text": VENOUS, "documentation": "lenient"},
        {"text": VENOUS, "mue_37253": 0},
        {"text": VENOUS, "linker": "neural"},
        {"text": VENOUS, "unexpected": 1},
        {"text": 42},
        {"id": "missing-text"},
        [VENOUS],
    ],
    ids=[
        "policy",
        "documentation",
        "mue",
        "linker",
        "extra-field",
        "text-not-string",
        "no-text",
        "not-object",
    ],
)
def test_schema_violations_are_422_with_their_locations(client, payload):
    response = client.post("/v1/code", headers=AUTH, json=payload)
    body = assert_problem(response, 422, "invalid-request")
    assert body["errors"] and all({"loc", "msg", "type"} == set(e) for e in body["errors"])
    assert VENOUS[:40] not in response.text  # the note is not echoed back


def test_unknown_include_is_422(client):
    response = client.post("/v1/code?include=everything", headers=AUTH, json={"text": VENOUS})
    assert_problem(response, 422, "invalid-request")


def test_unknown_path_is_404_and_wrong_method_405(client):
    assert_problem(client.get("/v2/code", headers=AUTH), 404, "not-found")
    response = client.get("/v1/code", headers=AUTH)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"


def test_unexpected_errors_are_500_problems_without_traces_or_text(make_app, caplog, monkeypatch):
    app = make_app()

    async def explode(*args, **kwargs):
        raise RuntimeError("boom: " + VENOUS[:60])

    monkeypatch.setattr(app.state.runtime, "code", explode)
    with caplog.at_level(logging.INFO), TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/code", headers=AUTH, json={"text": VENOUS})
    body = assert_problem(response, 500, "internal-error")
    assert body["request_id"] in body["detail"]
    assert VENOUS[:60] not in response.text
    assert "RuntimeError" in caplog.text and body["request_id"] in caplog.text
    assert VENOUS[:60] not in caplog.text


def test_note_text_and_bodies_are_never_logged(make_app, caplog):
    secret = "Zebulon Quixote-Marchbanks"
    text = f"Patient {secret}. " + VENOUS
    with caplog.at_level(logging.DEBUG), TestClient(make_app()) as client:
        client.post("/v1/code?include=spans", headers=AUTH, json={"id": "log-1", "text": text})
        client.post("/v1/code", headers=AUTH, json={"text": text, "policy": "bogus"})
        client.post(
            "/v1/code", headers={**AUTH, "Content-Type": "application/json"}, content=text.encode()
        )
        client.post(
            "/v1/code/batch", headers=AUTH, json={"documents": [{"text": text}, {"text": 5}]}
        )
    assert caplog.records, "the access log should have written lines"
    assert secret not in caplog.text
    assert API_KEY not in caplog.text
    assert '"POST /v1/code" 200' in caplog.text  # route template, status


def test_request_id_is_echoed_when_given(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    response = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"


# --- /v1/code/batch ---------------------------------------------------------------------------
def test_batch_keeps_order_and_reports_bad_documents_in_place(client):
    documents = [
        {"id": "a", "text": VENOUS},
        {"id": "b", "text": ""},
        "not an object",
        {"id": "d", "text": 12},
        {"id": "e", "text": ARTERIAL, "policy": "named-vessel"},
        {"id": "f", "text": CORONARY, "policy": "nope"},
        {"id": "g", "text": CORONARY},
    ]
    response = client.post(
        "/v1/code/batch", headers=AUTH, json={"documents": documents, "policy": "sir"}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r.get("document_id") for r in results] == ["a", "b", None, "d", "e", "f", "g"]
    assert results[0]["codes"] == {"37252": 1, "37253": 2}
    assert results[1]["error"]["code"] == "E011"
    assert results[2]["error"]["code"] == "E103"
    assert results[3]["error"]["code"] == "E103"
    assert results[4]["policy"] == "named-vessel" and results[4]["codes"]["37253"] == 1
    assert results[5]["error"]["code"] == "E103"
    assert results[6]["codes"] == {"37252": 0, "37253": 0}


def test_batch_with_spans(client):
    results = client.post(
        "/v1/code/batch?include=spans", headers=AUTH, json={"documents": [{"text": VENOUS}]}
    ).json()["results"]
    assert results[0]["spans"]


def test_batch_over_the_limit_is_413(make_app):
    with TestClient(make_app(batch_limit=2)) as client:
        payload = {"documents": [{"text": CORONARY}] * 3}
        body = assert_problem(
            client.post("/v1/code/batch", headers=AUTH, json=payload),
            413,
            "batch-too-large",
            "E104",
        )
        assert "limit of 2" in body["detail"]
        assert (
            client.post(
                "/v1/code/batch", headers=AUTH, json={"documents": [{"text": CORONARY}] * 2}
            ).status_code
            == 200
        )


def test_batch_level_settings_errors_are_422(client):
    response = client.post("/v1/code/batch", headers=AUTH, json={"documents": [], "mue_37253": -1})
    assert_problem(response, 422, "invalid-request")
    response = client.post("/v1/code/batch", headers=AUTH, json={"docs": []})
    assert_problem(response, 422, "invalid-request")


def test_empty_batch_is_an_empty_result(client):
    assert client.post("/v1/code/batch", headers=AUTH, json={"documents": []}).json() == {
        "results": []
    }


# --- the page and the OpenAPI document ---------------------------------------------------------
def test_review_page_and_assets_are_served_with_a_strict_csp(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset, kind in (("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
        response = client.get(asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert "innerHTML" not in client.get("/static/app.js").text  # note text goes in as text nodes


def test_openapi_documents_every_endpoint_and_its_errors(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) == {
        "/v1/code", "/v1/code/batch", "/v1/rules", "/fhir/DocumentReference/$ivus-code",
        "/hl7v2/mdm", "/healthz", "/readyz", "/metrics",
    }  # fmt: skip
    for path in ("/v1/code", "/v1/code/batch", "/hl7v2/mdm"):
        responses = paths[path]["post"]["responses"]
        assert {"200", "400", "401", "413", "415", "422", "429", "503"} <= set(responses)
        assert PROBLEM_JSON in responses["422"]["content"]
        assert paths[path]["post"]["security"] == [{"HTTPBearer": []}]
    fhir_errors = paths["/fhir/DocumentReference/$ivus-code"]["post"]["responses"]["422"]["content"]
    assert "application/fhir+json" in fhir_errors
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" not in paths["/healthz"]["get"]


def test_authentication_comes_before_media_type_checks(client):
    response = client.post("/hl7v2/mdm", content=b"")  # no key, no Content-Type
    assert_problem(response, 401, "unauthorized")
    response = client.post("/v1/code", headers={"Content-Type": "text/plain"}, content=b"x")
    assert_problem(response, 401, "unauthorized")
