"""Writing batch results as JSON, JSON lines or CSV (one row per document)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Any

CSV_COLUMNS = (
    "document_id",
    "policy",
    "ruleset_version",
    "37252",
    "37253",
    "vessels",
    "units",
    "flags",
    "excluded",
    "suppressed",
    "error_code",
    "error_message",
)


def dumps(result: dict[str, Any]) -> str:
    """Canonical JSON of one result (same result → same bytes)."""
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


def csv_row(result: dict[str, Any]) -> dict[str, Any]:
    """One CSV row summarizing a result or an error record."""
    if "error" in result:
        return {
            "document_id": result.get("document_id"),
            "error_code": result["error"]["code"],
            "error_message": result["error"]["message"],
        }
    return {
        "document_id": result["document_id"],
        "policy": result["policy"],
        "ruleset_version": result["ruleset_version"],
        "37252": result["codes"]["37252"],
        "37253": result["codes"]["37253"],
        "vessels": ";".join(v["id"] for v in result["vessels"]),
        "units": ";".join(f"{u['code']}:{u['group']}" for u in result["units"]),
        "flags": ";".join(f["code"] for f in result["flags"]),
        "excluded": ";".join(f"{e['reason']}:{e['text']}" for e in result["excluded"]),
        "suppressed": ";".join(s["service"] for s in result["suppressed"]),
    }


def write_results(results: Iterable[dict[str, Any]], fmt: str, out: IO[str], single: bool) -> int:
    """Write results as ``json`` (an object for one document, else an array), ``jsonl`` or
    ``csv``; return the number of error records written."""
    errors = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for result in results:
            errors += "error" in result
            writer.writerow(csv_row(result))
        return errors
    if fmt == "jsonl":
        for result in results:
            errors += "error" in result
            out.write(dumps(result) + "\n")
        return errors
    collected = list(results)
    errors = sum("error" in r for r in collected)
    payload: Any = collected[0] if single and len(collected) == 1 else collected
    out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return errors
