"""HL7 v2: MDM^T02 in; the JSON result, or DFT^P03 / ACK^T02 in ER7 out; errors as problems."""

from __future__ import annotations

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from api.hl7v2 import _encoding, _unescape, escape

from .conftest import AUTH
from .notes import ARTERIAL, CORONARY, VENOUS, example, mdm
from .test_contract import assert_problem

URL = "/hl7v2/mdm"
ER7 = "x-application/hl7-v2+er7"
HL7 = {**AUTH, "Content-Type": ER7}


def lines(text: str) -> list[str]:
    return [escape(line) for line in text.split("\n")]


def test_mdm_gives_the_json_result(client):
    body = example("hl7_mdm_json").raw_body()
    result = client.post(URL, headers=HL7, content=body).json()
    direct = client.post("/v1/code", headers=AUTH, json={"id": "venous-001", "text": VENOUS}).json()
    assert result == direct  # OBX lines joined by newlines are the note as written


def test_mdm_with_spans(client):
    result = client.post(
        URL, headers=HL7, params={"include": "spans"}, content=mdm(*lines(VENOUS))
    ).json()
    assert result["spans"]


def test_dft_has_one_ft1_per_code_line(client):
    response = client.post(URL, headers={**HL7, "Accept": ER7}, content=mdm(*lines(VENOUS)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(ER7)
    message = parse_message(
        response.text, find_groups=True, validation_level=VALIDATION_LEVEL.STRICT
    )
    assert message.validate()  # a structurally valid DFT^P03 (v2.5)
    assert message.msh.msh_9.to_er7() == "DFT^P03^DFT_P03"
    assert message.msh.msh_12.to_er7() == "2.5"
    assert message.msh.msh_5.to_er7() == "DICTATION"  # answered to the sender
    names = [c.name for c in message.children]
    assert names == ["MSH", "EVN", "PID", "PV1", "DFT_P03_FINANCIAL", "DFT_P03_FINANCIAL"]
    groups = [c for c in message.children if c.name == "DFT_P03_FINANCIAL"]
    ft1s = [g.ft1 for g in groups]
    assert [
        (f.ft1_7.to_er7().split("^")[0], f.ft1_10.to_er7(), f.ft1_6.to_er7()) for f in ft1s
    ] == [
        ("37252", "1", "CG"),
        ("37253", "2", "CG"),
    ]
    assert all(f.ft1_25.to_er7().endswith("^C4") for f in ft1s)
    assert all(f.ft1_4.to_er7() == "20250320090000" for f in ft1s)  # TXA-4, the activity date
    assert all(g.nte.nte_3.to_er7() for g in groups)
    flags = client.post("/v1/code", headers=AUTH, json={"text": VENOUS}).json()["flags"]
    assert all(f"review {flag['code']}" in response.text for flag in flags)


def test_dft_units_follow_the_policy(client):
    body = mdm(*lines(ARTERIAL))
    sir = client.post(
        URL, headers={**HL7, "Accept": ER7}, params={"policy": "sir"}, content=body
    ).text
    named = client.post(
        URL, headers={**HL7, "Accept": ER7}, params={"policy": "named-vessel"}, content=body
    ).text
    assert sir.count("\rFT1|") == 1 and named.count("\rFT1|") == 2


def test_no_code_line_is_an_ack_that_says_so(client):
    response = client.post(URL, headers={**HL7, "Accept": ER7}, content=mdm(*lines(CORONARY)))
    assert response.status_code == 200
    message = parse_message(
        response.text, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT
    )
    assert message.msh.msh_9.to_er7() == "ACK^T02^ACK"
    assert message.msa.msa_1.to_er7() == "AA"
    assert message.msa.msa_2.to_er7() == "MSG00001"
    assert "No +37252/+37253 charge proposed" in response.text


def test_escapes_repetitions_and_formatted_text_are_decoded(client):
    body = mdm(
        "IVUS of the left common iliac vein \\T\\ left external iliac vein: MLA 50 mm2."
        "~Venography performed.",
        value_type="TX",
    )
    result = client.post(URL, headers={**HL7, "Accept": "application/json"}, content=body).json()
    assert result["codes"]["37252"] == 1
    evidence = {e["text"] for v in result["vessels"] for e in v["evidence"]}
    assert "left external iliac vein" in evidence


def test_unescape_and_escape_round_trip():
    enc = _encoding("MSH|^~\\&|")
    original = "a|b^c&d~e\\f"
    assert _unescape(escape(original), enc, formatted=False) == original
    assert _unescape("line\\.br\\next", enc, formatted=True) == "line\nnext"
    assert _unescape("\\H\\bold\\N\\ \\X41\\", enc, formatted=False) == "bold A"


def test_line_feeds_and_mllp_framing_are_tolerated(client):
    body = b"\x0b" + mdm(*lines(VENOUS)).replace(b"\r", b"\n") + b"\x1c\r"
    assert client.post(URL, headers=HL7, content=body).json()["codes"]["37252"] == 1


def test_ed_base64_text_is_read(client):
    import base64

    data = base64.b64encode(VENOUS.encode()).decode()
    body = mdm(f"^TEXT^PLAIN^Base64^{data}", value_type="ED")
    assert client.post(URL, headers=HL7, content=body).json()["codes"] == {"37252": 1, "37253": 2}


@pytest.mark.parametrize("content_type", ["application/hl7-v2", "text/plain; charset=utf-8"])
def test_other_hl7_media_types(client, content_type):
    response = client.post(
        URL, headers={**AUTH, "Content-Type": content_type}, content=mdm(*lines(VENOUS))
    )
    assert response.status_code == 200


def test_charset_from_the_content_type(client):
    body = mdm(*lines("Café. " + VENOUS)).decode().encode("latin-1")
    response = client.post(
        URL, headers={**AUTH, "Content-Type": f"{ER7}; charset=iso-8859-1"}, content=body
    )
    assert response.status_code == 200
    response = client.post(URL, headers=HL7, content=body)  # not UTF-8
    assert_problem(response, 422, "invalid-document", "E012")


@pytest.mark.parametrize(
    ("body", "status", "slug", "code"),
    [
        (b"hello, not HL7", 400, "malformed-hl7", "E108"),
        (b"MSH|^~\\&|A|B|C|D|2025||MDM^T02|1|P|9.9\rEVN|T02", 400, "malformed-hl7", "E108"),
        (mdm("x", message_type="ADT^A01^ADT_A01"), 422, "unsupported-hl7-message", "E109"),
        (mdm("x", message_type="MDM^T01^MDM_T01"), 422, "unsupported-hl7-message", "E109"),
        (mdm(""), 422, "invalid-document", "E110"),
        (mdm("   "), 422, "invalid-document", "E110"),
        (mdm("^TEXT^PLAIN^Base64^@@@", value_type="ED"), 422, "invalid-document", "E110"),
    ],
    ids=["not-hl7", "unknown-version", "adt", "t01", "no-obx-text", "blank-obx", "bad-base64"],
)
def test_unusable_messages_are_problems(client, body, status, slug, code):
    assert_problem(client.post(URL, headers=HL7, content=body), status, slug, code)


def test_wrong_media_type_and_missing_key(client):
    body = mdm(*lines(VENOUS))
    assert_problem(
        client.post(URL, headers={**AUTH, "Content-Type": "application/json"}, content=body),
        415,
        "unsupported-media-type",
    )
    assert_problem(
        client.post(URL, headers={"Content-Type": ER7}, content=body), 401, "unauthorized"
    )
    assert_problem(
        client.post(URL, headers=HL7, params={"policy": "x"}, content=body), 422, "invalid-request"
    )
