"""HL7 v2 adapter: ``MDM^T02`` in (report text in its OBX segments), ``DFT^P03`` out.

Parsing and building go through hl7apy. The report text is read from the OBX-5 fields of the
message as sent (TX, FT and ST values, repetitions as lines, HL7 escape sequences decoded; ED
values with Base64 text), in OBX order, one line per OBX. MDM^T04, T06, T08 and T10 share T02's
structure and are accepted too.

The answer, when the client asks for ER7 (``Accept: x-application/hl7-v2+er7``), is a
``DFT^P03`` (HL7 v2.5) with one FT1 per code line: FT1-6 ``CG`` (charge), FT1-7 and FT1-25 the
CPT code (coding system ``C4``), FT1-10 the units, FT1-4 the document's activity date (TXA-4,
else EVN-2, else MSH-7); an NTE after each FT1 lists the vessels of that line and, on the first
line, the review flags. PID and PV1 are copied from the MDM. A note with no code line cannot be
a valid DFT^P03 (FT1 is required), so it is answered with an ``ACK^T02`` (MSA-1 ``AA``) whose
MSA-3 says that no charge is proposed, and one ERR (severity ``I``) per review flag.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rules_core.errors import DocumentError, IvusCoderError

from .identifiers import CPT_DISPLAY, HL7_CPT_CODING_SYSTEM

ER7 = "x-application/hl7-v2+er7"
ACCEPTED_TYPES = (ER7, "application/hl7-v2", "text/plain")
CONTENT_TRIGGERS = ("T02", "T04", "T06", "T08", "T10")
SENDING_APPLICATION = "IVUS-CODER"
ANSWER_VERSION = "2.5"
_MLLP = "\x0b\x1c"


@dataclass(slots=True)
class MdmDocument:
    """What the answer needs from an MDM message."""

    document_id: str
    text: str
    control_id: str
    processing_id: str
    sending_application: str
    sending_facility: str
    activity_time: str
    segments: dict[str, str] = field(default_factory=dict)  # raw PID / PV1


def _encoding(message: str) -> tuple[str, str, str, str, str]:
    """Field, component, repetition, escape and subcomponent separators (MSH-1, MSH-2)."""
    fs = message[3]
    chars = message[4:].split(fs, 1)[0][:4]
    comp, rep, esc, sub = chars + "^~\\&"[len(chars) :]
    return fs, comp, rep, esc, sub


def _unescape(value: str, enc: tuple[str, str, str, str, str], formatted: bool) -> str:
    """Decode HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\; \\.br\\ in FT)."""
    fs, comp, rep, esc, sub = enc
    plain = {"F": fs, "S": comp, "T": sub, "R": rep, "E": esc}

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in plain:
            return plain[code]
        if code.startswith("X") and len(code) > 1:
            try:
                return bytes.fromhex(code[1:]).decode("utf-8", errors="replace")
            except ValueError:
                return ""
        if formatted and (code == ".br" or code.startswith(".sp")):
            return "\n"
        return ""  # highlighting (H, N), character-set switches (C, M), other formatting

    return re.sub(
        re.escape(esc) + r"([^" + re.escape(esc) + r"]{1,32})" + re.escape(esc), replace, value
    )


def _component(value: str, enc: tuple[str, str, str, str, str], index: int) -> str:
    parts = value.split(enc[1])
    return parts[index] if index < len(parts) else ""


def _obx_text(fields: list[str], enc: tuple[str, str, str, str, str]) -> str | None:
    value_type = fields[2].split(enc[1])[0].strip().upper() if len(fields) > 2 else ""
    raw = fields[5] if len(fields) > 5 else ""
    if not raw:
        return None
    if value_type in ("TX", "FT", "ST", "TEXT", ""):
        lines = [_unescape(r, enc, formatted=value_type == "FT") for r in raw.split(enc[2])]
        return "\n".join(lines)
    if value_type == "ED":
        if _component(raw, enc, 3).strip().upper() != "BASE64":
            return None
        try:
            data = base64.b64decode(_component(raw, enc, 4), validate=True)
        except (binascii.Error, ValueError):
            return None
        return data.decode("utf-8", errors="replace")
    return None


def read_mdm(body: bytes, charset: str | None = None) -> MdmDocument:
    """Text and header facts of an MDM message (E108 unparsable, E109 wrong type, E110 no text,
    E012 not decodable in its charset)."""
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.exceptions import HL7apyException
    from hl7apy.parser import parse_message

    try:
        message = body.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        raise DocumentError("E012", doc="HL7 v2 message") from exc
    message = message.strip(_MLLP + " \t\r\n").replace("\r\n", "\r").replace("\n", "\r")
    if not message.startswith("MSH") or len(message) < 8:
        raise IvusCoderError("E108", detail="it does not start with an MSH segment")
    enc = _encoding(message)
    try:
        parsed = parse_message(
            message, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT
        )
        msh = parsed.msh
        message_type = msh.msh_9.to_er7()
        control_id = msh.msh_10.to_er7()
    except HL7apyException as exc:
        raise IvusCoderError("E108", detail=f"{type(exc).__name__}: {str(exc)[:160]}") from exc
    except Exception as exc:  # hl7apy raises plain errors on some malformed input
        raise IvusCoderError("E108", detail=type(exc).__name__) from exc
    kind, trigger = _component(message_type, enc, 0), _component(message_type, enc, 1)
    if kind != "MDM" or trigger not in CONTENT_TRIGGERS:
        raise IvusCoderError("E109", type=message_type)
    segments: dict[str, list[str]] = {}
    lines: list[str] = []
    raw_segments: dict[str, str] = {}
    for segment in message.split("\r"):
        fields = segment.split(enc[0])
        name = fields[0]
        segments.setdefault(name, fields)
        if name in ("PID", "PV1") and name not in raw_segments:
            raw_segments[name] = segment
        if name == "OBX":
            text = _obx_text(fields, enc)
            if text is not None:
                lines.append(text)
    msh_fields = segments["MSH"]
    txa = segments.get("TXA", [])
    document_id = _unescape(_component(txa[12], enc, 0), enc, False) if len(txa) > 12 else ""
    document_id = document_id or control_id or "hl7v2"
    if not any(line.strip() for line in lines):
        raise IvusCoderError("E110", doc=document_id)
    evn = segments.get("EVN", [])
    activity = next(
        (
            _component(v, enc, 0)
            for v in (
                txa[4] if len(txa) > 4 else "",
                evn[2] if len(evn) > 2 else "",
                msh_fields[6] if len(msh_fields) > 6 else "",
            )
            if v
        ),
        "",
    )
    return MdmDocument(
        document_id=document_id,
        text="\n".join(lines),
        control_id=control_id,
        processing_id=_component(msh_fields[10], enc, 0) if len(msh_fields) > 10 else "P",
        sending_application=msh_fields[2] if len(msh_fields) > 2 else "",
        sending_facility=msh_fields[3] if len(msh_fields) > 3 else "",
        activity_time=activity,
        segments=raw_segments,
    )


# --- the answer -------------------------------------------------------------------------------
def escape(text: str) -> str:
    """HL7 v2 escaping of free text for the default encoding characters."""
    text = text.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        text = text.replace(char, f"\\{code}\\")
    return text.replace("\r", " ").replace("\n", " ")


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")


def _header(message: Any, mdm: MdmDocument, message_type: str) -> None:
    msh = message.msh
    msh.msh_3 = SENDING_APPLICATION
    if mdm.sending_application:
        msh.msh_5 = mdm.sending_application
    if mdm.sending_facility:
        msh.msh_6 = mdm.sending_facility
    msh.msh_7 = _timestamp()
    msh.msh_9 = message_type
    msh.msh_10 = uuid.uuid4().hex[:20]
    msh.msh_11 = mdm.processing_id or "P"
    msh.msh_12 = ANSWER_VERSION


def _copy_segment(message: Any, raw: str | None, group: Any = None) -> None:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_segment

    if raw:
        target = group if group is not None else message
        target.add(
            parse_segment(raw, version=ANSWER_VERSION, validation_level=VALIDATION_LEVEL.TOLERANT)
        )


def build_answer(mdm: MdmDocument, result: dict[str, Any]) -> str:
    """``DFT^P03`` with one FT1 per code line, or ``ACK^T02`` when no line is proposed."""
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.core import Message

    lines = [
        (code, [u for u in result["units"] if u["code"] == code]) for code in ("37252", "37253")
    ]
    lines = [(code, units) for code, units in lines if units]
    flags = [f"review {f['code']}: {f['message']}" for f in result["flags"]]
    if not lines:
        ack = Message("ACK", version=ANSWER_VERSION, validation_level=VALIDATION_LEVEL.TOLERANT)
        _header(ack, mdm, "ACK^T02^ACK")
        ack.add_segment("MSA")
        ack.msa.msa_1 = "AA"
        ack.msa.msa_2 = escape(mdm.control_id) or "-"
        ack.msa.msa_3 = escape(f"No +37252/+37253 charge proposed (policy {result['policy']}).")
        for flag in result["flags"]:
            err = ack.add_segment("ERR")
            err.err_3 = "0^Message accepted^HL70357"
            err.err_4 = "I"
            err.err_8 = escape(f"{flag['code']}: {flag['message']}")
        return ack.to_er7()
    dft = Message("DFT_P03", version=ANSWER_VERSION, validation_level=VALIDATION_LEVEL.TOLERANT)
    _header(dft, mdm, "DFT^P03^DFT_P03")
    dft.evn.evn_1 = "P03"
    dft.evn.evn_2 = _timestamp()
    _copy_segment(dft, mdm.segments.get("PID"))
    _copy_segment(dft, mdm.segments.get("PV1"))
    labels = {v["id"]: v["label"] for v in result["vessels"]}
    for number, (code, units) in enumerate(lines, start=1):
        group = dft.add_group("DFT_P03_FINANCIAL")
        ft1 = group.ft1
        ft1.ft1_1 = str(number)
        ft1.ft1_4 = mdm.activity_time or _timestamp()
        ft1.ft1_6 = "CG"
        coded = f"{code}^{escape(CPT_DISPLAY[code])}^{HL7_CPT_CODING_SYSTEM}"
        ft1.ft1_7 = coded
        ft1.ft1_10 = str(len(units))
        ft1.ft1_25 = coded
        comments = [
            f"{u['code']} {u['group']}: " + ", ".join(labels.get(v, v) for v in u["vessels"])
            for u in units
        ]
        if number == 1:
            comments += flags
        comments.append(f"policy {result['policy']}; ruleset {result['ruleset_version']}")
        nte = group.add_segment("NTE")
        nte.nte_1 = "1"
        nte.nte_3 = escape(comments[0])
        for comment in comments[1:]:
            nte.add_field("NTE_3").value = escape(comment)
    return dft.to_er7()
