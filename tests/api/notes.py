"""Notes for the service tests, taken from the OpenAPI example files (one source for both)."""

from __future__ import annotations

from api.openapi import load_examples


def example(name: str):
    return next(e for e in load_examples() if e.name == name)


VENOUS = example("code_venous_stent").body["text"]  # sir: 37252 x 1, 37253 x 2
ARTERIAL = example("code_policy_sir").body["text"]  # sir: 1 + 0; named-vessel: 1 + 1
CORONARY = example("code_coronary_only").body["text"]  # no units
MDM_LINES = example("hl7_mdm_json").body.split("\n")
DOCUMENT_REFERENCE = example("fhir_document_reference").body


def mdm(*obx_values: str, message_type: str = "MDM^T02^MDM_T02", value_type: str = "TX") -> bytes:
    """An MDM message with the example's header and the given OBX-5 values (already escaped)."""
    header = [line for line in MDM_LINES if not line.startswith("OBX")]
    header[0] = header[0].replace("MDM^T02^MDM_T02", message_type)
    obx = [
        f"OBX|{i}|{value_type}|28570-0^Procedure note^LN||{v}||||||F"
        for i, v in enumerate(obx_values, 1)
    ]
    return "\r".join(header + obx).encode("utf-8")
