"""The vessel linker a request names (``linker``: rules, model, hybrid) on every coding endpoint,
the server's default (``serve --linker``), ``/v1/rules`` and ``/readyz``, and the runtime that
builds one pipeline per linker, lazily, on its single coding thread."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading

import pytest
from fastapi.testclient import TestClient

from api.auth import KeyStore
from api.cli import build_parser, main
from api.config import CONFIG_ENV, ServiceSettings
from api.runtime import CoderRuntime
from api.schemas import LINKER_MODES
from api.service import create_app
from nlp.pipeline import DEFAULT_LINKER, LINKERS
from rules_core.errors import IvusCoderError

from .conftest import API_KEY, AUTH
from .notes import ARTERIAL, DOCUMENT_REFERENCE, VENOUS, mdm
from .test_contract import assert_problem
from .test_hl7v2 import HL7, lines

FHIR_URL = "/fhir/DocumentReference/$ivus-code"
FHIR = {**AUTH, "Content-Type": "application/fhir+json"}
LEARNED = [mode for mode in LINKERS if mode != "rules"]


def code(client, text: str = VENOUS, **options) -> dict:
    response = client.post("/v1/code", headers=AUTH, json={"text": text, **options})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def rules(client) -> dict:
    return client.get("/v1/rules", headers=AUTH).json()


# --- /v1/rules ---------------------------------------------------------------------------------
def test_rules_lists_every_linker_with_its_versions(rules):
    assert rules["default_linker"] == DEFAULT_LINKER
    assert list(rules["linkers"]) == list(LINKERS) == list(LINKER_MODES)
    for info in rules["linkers"].values():
        assert info["description"]
        assert info["ruleset_version"] == f"{rules['core_version']}.{info['extractor_version']}"
    default = rules["linkers"][DEFAULT_LINKER]
    assert (rules["ruleset_version"], rules["extractor_version"]) == (
        default["ruleset_version"],
        default["extractor_version"],
    )
    versions = {info["ruleset_version"] for info in rules["linkers"].values()}
    assert len(versions) == len(LINKERS)  # each linker's results carry their own version


# --- /v1/code ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", LEARNED)
def test_a_learned_linker_names_itself_in_the_ruleset_version(client, rules, mode):
    by_rules = code(client, linker="rules")
    learned = code(client, linker=mode)
    assert learned["ruleset_version"] != by_rules["ruleset_version"]
    assert f".{mode}-" in learned["ruleset_version"]
    assert learned["ruleset_version"].startswith(by_rules["ruleset_version"] + ".")
    assert learned["ruleset_version"] == rules["linkers"][mode]["ruleset_version"]
    assert by_rules["ruleset_version"] == rules["linkers"]["rules"]["ruleset_version"]
    assert learned["codes"] == {"37252": 1, "37253": 2}  # the same note, the same vessels


def test_no_linker_is_the_server_default(client, rules):
    assert code(client)["ruleset_version"] == rules["ruleset_version"]


def test_linker_with_spans_and_policy(client):
    result = client.post(
        "/v1/code?include=spans",
        headers=AUTH,
        json={"text": ARTERIAL, "linker": "hybrid", "policy": "named-vessel"},
    ).json()
    assert ".hybrid-" in result["ruleset_version"]
    assert result["policy"] == "named-vessel" and result["codes"]["37253"] == 1
    assert result["spans"]


@pytest.mark.parametrize("linker", ["neural", "Rules", "", 1, None])
def test_an_unknown_linker_is_a_422_problem(client, linker):
    response = client.post("/v1/code", headers=AUTH, json={"text": VENOUS, "linker": linker})
    if linker is None:  # null is "not given"
        assert response.status_code == 200
        return
    body = assert_problem(response, 422, "invalid-request")
    assert ["body", "linker"] in [e["loc"] for e in body["errors"]]
    assert "rules" in body["detail"] and "hybrid" in body["detail"]  # the known ones
    assert VENOUS[:40] not in response.text


# --- /v1/code/batch ----------------------------------------------------------------------------
def test_batch_linker_applies_to_every_document_unless_one_names_its_own(client, rules):
    documents = [
        {"id": "a", "text": VENOUS},
        {"id": "b", "text": VENOUS, "linker": "rules"},
        {"id": "c", "text": ARTERIAL, "linker": "hybrid", "policy": "named-vessel"},
        {"id": "d", "text": VENOUS, "linker": "neural"},
        {"id": "e", "text": VENOUS},
    ]
    response = client.post(
        "/v1/code/batch", headers=AUTH, json={"documents": documents, "linker": "model"}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["document_id"] for r in results] == ["a", "b", "c", "d", "e"]
    versions = {name: info["ruleset_version"] for name, info in rules["linkers"].items()}
    assert results[0]["ruleset_version"] == versions["model"]
    assert results[1]["ruleset_version"] == versions["rules"]
    assert results[2]["ruleset_version"] == versions["hybrid"]
    assert results[2]["policy"] == "named-vessel"
    assert results[3]["error"]["code"] == "E103" and "linker" in results[3]["error"]["message"]
    assert results[4]["ruleset_version"] == versions["model"]


def test_batch_without_a_linker_uses_the_server_default(client, rules):
    results = client.post(
        "/v1/code/batch", headers=AUTH, json={"documents": [{"text": VENOUS}]}
    ).json()["results"]
    assert results[0]["ruleset_version"] == rules["ruleset_version"]


def test_an_unknown_batch_linker_is_a_422_problem(client):
    response = client.post(
        "/v1/code/batch", headers=AUTH, json={"documents": [{"text": VENOUS}], "linker": "x"}
    )
    body = assert_problem(response, 422, "invalid-request")
    assert ["body", "linker"] in [e["loc"] for e in body["errors"]]


# --- FHIR and HL7 v2: a query parameter beside policy, documentation and mue_37253 --------------
def fhir_post(client, **params):
    return client.post(
        FHIR_URL, headers=FHIR, params=params, content=json.dumps(DOCUMENT_REFERENCE).encode()
    )


def provenance_agent(bundle: dict) -> str:
    (provenance,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"
    ]
    return provenance["agent"][0]["who"]["display"]


@pytest.mark.parametrize("mode", LINKERS)
def test_fhir_takes_the_linker_query_parameter(client, rules, mode):
    response = fhir_post(client, linker=mode, policy="named-vessel", mue_37253=3)
    assert response.status_code == 200, response.text
    agent = provenance_agent(response.json())
    assert agent.endswith(f"ruleset {rules['linkers'][mode]['ruleset_version']}")


def test_fhir_bundle_documents_share_the_query_linker(client, rules):
    second = json.loads(json.dumps(DOCUMENT_REFERENCE))
    second["id"] = "second"
    second["content"][0]["attachment"]["data"] = base64.b64encode(ARTERIAL.encode()).decode()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": DOCUMENT_REFERENCE}, {"resource": second}],
    }
    response = client.post(
        FHIR_URL, headers=FHIR, params={"linker": "model"}, content=json.dumps(bundle).encode()
    )
    provenances = [
        e["resource"]
        for e in response.json()["entry"]
        if e["resource"]["resourceType"] == "Provenance"
    ]
    assert len(provenances) == 2
    version = rules["linkers"]["model"]["ruleset_version"]
    assert all(p["agent"][0]["who"]["display"].endswith(version) for p in provenances)


def test_fhir_unknown_linker_is_an_operation_outcome(client):
    response = fhir_post(client, linker="neural")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "invalid"
    assert "linker" in outcome["issue"][0]["diagnostics"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("mode", LINKERS)
def test_hl7_takes_the_linker_query_parameter(client, rules, mode):
    response = client.post(
        "/hl7v2/mdm", headers=HL7, params={"linker": mode}, content=mdm(*lines(VENOUS))
    )
    assert response.status_code == 200, response.text
    assert response.json()["ruleset_version"] == rules["linkers"][mode]["ruleset_version"]
    dft = client.post(
        "/hl7v2/mdm",
        headers={**HL7, "Accept": HL7["Content-Type"]},
        params={"linker": mode},
        content=mdm(*lines(VENOUS)),
    )
    assert rules["linkers"][mode]["ruleset_version"] in dft.text  # the FT1 comment names it


def test_hl7_unknown_linker_is_a_422_problem(client):
    response = client.post(
        "/hl7v2/mdm", headers=HL7, params={"linker": "neural"}, content=mdm(*lines(VENOUS))
    )
    body = assert_problem(response, 422, "invalid-request")
    assert ["query", "linker"] in [e["loc"] for e in body["errors"]]


def test_query_coding_options_are_documented_once_for_both_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    documented = {}
    for path in (FHIR_URL, "/hl7v2/mdm"):
        parameters = {p["name"]: p for p in paths[path]["post"]["parameters"]}
        assert {"policy", "documentation", "mue_37253", "linker"} <= set(parameters)
        assert all(parameters[n]["in"] == "query" for n in ("policy", "linker"))
        documented[path] = {n: parameters[n] for n in ("policy", "documentation", "linker")}
    assert documented[FHIR_URL] == documented["/hl7v2/mdm"]
    linker = documented[FHIR_URL]["linker"]
    assert set(json.dumps(linker["schema"]).split('"')) >= set(LINKERS)
    assert "first request" in linker["description"]


# --- the server's default linker -----------------------------------------------------------------
def test_serve_linker_sets_the_default(make_app):
    with TestClient(make_app(linker="hybrid")) as client:
        rules = client.get("/v1/rules", headers=AUTH).json()
        assert rules["default_linker"] == "hybrid"
        assert rules["ruleset_version"] == rules["linkers"]["hybrid"]["ruleset_version"]
        assert code(client)["ruleset_version"] == rules["ruleset_version"]
        assert ".hybrid-" in rules["ruleset_version"]
        assert (
            code(client, linker="rules")["ruleset_version"]
            == (rules["linkers"]["rules"]["ruleset_version"])
        )
        ready = client.get("/readyz").json()
        assert ready["linker"] == "hybrid"
        assert ready["ruleset_version"] == rules["ruleset_version"]


def test_the_linker_setting_travels_to_workers_and_is_checked():
    settings = ServiceSettings(linker="model")
    assert ServiceSettings.from_env({CONFIG_ENV: settings.to_env()}) == settings
    assert ServiceSettings().linker is None  # the pipeline's default
    with pytest.raises(ValueError, match="linker"):
        ServiceSettings(linker="neural")


def test_serve_takes_the_linker_option(capsys):
    import api.serve_cli  # noqa: F401  (registers the serve command)

    parser = build_parser()
    assert parser.parse_args(["serve"]).linker == DEFAULT_LINKER
    assert parser.parse_args(["serve", "--linker", "hybrid"]).linker == "hybrid"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--linker", "neural"])
    assert "invalid choice: 'neural'" in capsys.readouterr().err
    assert main(["serve", "--linker", "model", "--batch-limit", "0"]) == 2  # checked, not started


# --- the runtime: one pipeline per linker, built lazily on the coding thread ----------------------
class Recorder:
    """A factory that records which linker it built, on which thread."""

    def __init__(self, coder_of, fail: set[str] = frozenset()) -> None:
        self.coder_of = coder_of
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def __call__(self, linker: str):
        self.calls.append((linker, threading.current_thread().name))
        if linker in self.fail:
            raise RuntimeError(f"weights for {linker} broken")
        return self.coder_of(linker)


def test_readiness_needs_only_the_default_and_others_build_on_first_use(coder_of):
    factory = Recorder(coder_of)
    app = create_app(ServiceSettings(), keys=KeyStore.from_keys([API_KEY]), factory=factory)
    with TestClient(app) as client:
        code(client)  # queued behind the default build
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert ready["linker"] == DEFAULT_LINKER
        assert ready["linkers_built"] == [DEFAULT_LINKER]
        assert [linker for linker, _ in factory.calls] == [DEFAULT_LINKER]
        for _ in range(2):
            code(client, linker="model")
            code(client, linker="hybrid")
        assert client.get("/readyz").json()["linkers_built"] == list(LINKERS)
    assert [linker for linker, _ in factory.calls] == [DEFAULT_LINKER, "model", "hybrid"]
    assert all(thread.startswith("ivus-coder") for _, thread in factory.calls)  # one thread


def test_a_linker_that_fails_to_build_answers_503_and_the_rest_goes_on(coder_of, caplog):
    factory = Recorder(coder_of, fail={"model"})
    app = create_app(ServiceSettings(), keys=KeyStore.from_keys([API_KEY]), factory=factory)
    with caplog.at_level(logging.INFO), TestClient(app) as client:
        response = client.post("/v1/code", headers=AUTH, json={"text": VENOUS, "linker": "model"})
        body = assert_problem(response, 503, "not-ready")
        assert "model linker failed to build" in body["detail"]
        assert response.headers["retry-after"] == "30"
        assert (
            client.post(
                "/v1/code", headers=AUTH, json={"text": VENOUS, "linker": "model"}
            ).status_code
            == 503
        )
        assert [linker for linker, _ in factory.calls].count(
            "model"
        ) == 1  # not retried per request
        assert client.get("/readyz").status_code == 200  # the default is built and serving
        assert code(client)["codes"]["37253"] == 2
        assert code(client, linker="hybrid")["codes"]["37253"] == 2
    assert "weights for model broken" in caplog.text
    assert VENOUS[:40] not in caplog.text


def test_the_runtime_refuses_an_unknown_linker_with_a_numbered_error(coder):
    runtime = CoderRuntime(coder)

    async def attempt():
        try:
            return await runtime.code(VENOUS, None, None, None, "neural")
        finally:
            runtime.close()

    with pytest.raises(IvusCoderError) as error:
        asyncio.run(attempt())
    assert error.value.code == "E205"
    with pytest.raises(IvusCoderError):
        CoderRuntime(coder, default_linker="neural")


def test_linker_requests_log_no_note_text(make_app, caplog):
    secret = "Zebulon Quixote-Marchbanks"
    text = f"Patient {secret}. " + VENOUS
    with caplog.at_level(logging.DEBUG), TestClient(make_app()) as client:
        client.post("/v1/code", headers=AUTH, json={"text": text, "linker": "model"})
        client.post("/v1/code", headers=AUTH, json={"text": text, "linker": "bogus"})
        client.post(
            "/hl7v2/mdm", headers=HL7, params={"linker": "hybrid"}, content=mdm(*lines(text))
        )
    assert caplog.records
    assert secret not in caplog.text and API_KEY not in caplog.text
