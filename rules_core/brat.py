"""brat standoff import and export of gold documents, so annotators can work in brat.

One document becomes ``<id>.txt`` (the text), ``<id>.ann`` (text-bound annotations ``T``,
attributes ``A`` for assertion and kind, normalizations ``N`` to canonical vessel ids, relations
``R`` for IVUS→vessel links, extent ends and finding targets, and ``AnnotatorNotes`` holding the
gold span ids) and ``<id>.json`` (the document-level gold: tags, counted vessels, merges,
suppression, expected codes, flags). ``annotation.conf`` and ``visual.conf`` describe the schema
to brat. Export then import gives back the same document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .gold import (
    ASSERTIONS,
    EXTENT_KINDS,
    FINDING_KINDS,
    LABELS,
    MODALITY_KINDS,
    PATHOLOGY_KINDS,
    PROCEDURE_KINDS,
)

ALL_KINDS = sorted(
    {*EXTENT_KINDS, *PATHOLOGY_KINDS, *FINDING_KINDS, *PROCEDURE_KINDS, *MODALITY_KINDS}
)
DOC_KEYS = (
    "id",
    "source",
    "split",
    "tags",
    "vessels",
    "merges",
    "suppressed",
    "expected",
    "flags",
    "comment",
)
NORMALIZATION_DB = "IVUSCoder"

ANNOTATION_CONF = f"""[entities]
{chr(10).join(LABELS)}

[relations]
Examines\tArg1:IVUS, Arg2:VESSEL
ExtentFrom\tArg1:EXTENT, Arg2:VESSEL
ExtentTo\tArg1:EXTENT, Arg2:VESSEL
FindingOf\tArg1:FINDING, Arg2:VESSEL

[events]

[attributes]
Assertion\tArg:IVUS|PROCEDURE|NON_IVUS_MODALITY, Value:{"|".join(ASSERTIONS)}
Kind\tArg:EXTENT|PATHOLOGY|FINDING|PROCEDURE|NON_IVUS_MODALITY, Value:{"|".join(ALL_KINDS)}
"""

VISUAL_CONF = """[labels]
IVUS | IVUS
VESSEL | Vessel
EXTENT | Extent
PATHOLOGY | Pathology
FINDING | Finding
PROCEDURE | Procedure
NON_IVUS_MODALITY | Non-IVUS modality

[drawing]
IVUS\tbgColor:#2e7d32, fgColor:white
VESSEL\tbgColor:#fdd835
EXTENT\tbgColor:#b3e5fc
PATHOLOGY\tbgColor:#f48fb1
FINDING\tbgColor:#80deea
PROCEDURE\tbgColor:#9fa8da
NON_IVUS_MODALITY\tbgColor:#ef5350, fgColor:white
"""


def document_to_brat(doc: dict[str, Any]) -> tuple[str, str, str]:
    """(txt, ann, json) contents for one gold document."""
    tid = {span["id"]: f"T{n}" for n, span in enumerate(doc["spans"], start=1)}
    lines: list[str] = []
    attr_n = norm_n = rel_n = 0
    for note_n, span in enumerate(doc["spans"], start=1):
        t = tid[span["id"]]
        text = span["text"].replace("\n", " ")
        lines.append(f"{t}\t{span['label']} {span['start']} {span['end']}\t{text}")
        lines.append(f"#{note_n}\tAnnotatorNotes {t}\tid={span['id']}")
        attrs = span.get("attrs", {})
        for key, name in (("assertion", "Assertion"), ("kind", "Kind")):
            if key in attrs:
                attr_n += 1
                lines.append(f"A{attr_n}\t{name} {t} {attrs[key]}")
        for vessel in attrs.get("vessel", []):
            norm_n += 1
            lines.append(f"N{norm_n}\tReference {t} {NORMALIZATION_DB}:{vessel}\t{text}")
        if span["label"] == "EXTENT":
            for key, rel in (("from", "ExtentFrom"), ("to", "ExtentTo")):
                rel_n += 1
                lines.append(f"R{rel_n}\t{rel} Arg1:{t} Arg2:{tid[attrs[key]]}")
        for target in attrs.get("of", []):
            rel_n += 1
            lines.append(f"R{rel_n}\tFindingOf Arg1:{t} Arg2:{tid[target]}")
    for link in doc["links"]:
        rel_n += 1
        lines.append(f"R{rel_n}\tExamines Arg1:{tid[link['ivus']]} Arg2:{tid[link['vessel']]}")
    meta = {key: doc.get(key) for key in DOC_KEYS}
    return (
        doc["text"],
        "\n".join(lines) + "\n",
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
    )


def brat_to_document(txt: str, ann: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The gold document for one brat text, annotation file and document-level JSON."""
    spans: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    notes: dict[str, str] = {}
    relations: list[tuple[str, str, str]] = []
    for line in ann.splitlines():
        if not line.strip():
            continue
        key, _, rest = line.partition("\t")
        if key.startswith("T"):
            head, _, _ = rest.partition("\t")
            label, _, offsets = head.partition(" ")
            fragments = [f.split() for f in offsets.split(";")]  # discontinuous: first..last
            start, end = int(fragments[0][0]), int(fragments[-1][1])
            spans[key] = {
                "label": label,
                "start": start,
                "end": end,
                "text": txt[start:end],
                "attrs": {},
            }
            order.append(key)
        elif key.startswith("#"):
            _, t, note = (
                rest.replace("\t", " ", 1).split(" ", 2)
                if rest.startswith("AnnotatorNotes")
                else ("", "", "")
            )
            if note.startswith("id="):
                notes[t] = note[3:].strip()
        elif key.startswith("A"):
            name, t, value = rest.split(" ")
            spans[t]["attrs"]["assertion" if name == "Assertion" else "kind"] = value
        elif key.startswith("N"):
            head = rest.split("\t")[0]
            _, t, ref = head.split(" ")
            spans[t]["attrs"].setdefault("vessel", []).append(ref.split(":", 1)[1])
        elif key.startswith("R"):
            name, arg1, arg2 = rest.split(" ")
            relations.append((name, arg1.split(":", 1)[1], arg2.split(":", 1)[1]))
    gold_id = {t: notes.get(t, t) for t in order}
    links = []
    for name, a, b in relations:
        if name == "Examines":
            links.append({"ivus": gold_id[a], "vessel": gold_id[b]})
            spans[b]["attrs"].setdefault("ivus", []).append(gold_id[a])
        elif name in ("ExtentFrom", "ExtentTo"):
            spans[a]["attrs"]["from" if name == "ExtentFrom" else "to"] = gold_id[b]
        elif name == "FindingOf":
            spans[a]["attrs"].setdefault("of", []).append(gold_id[b])
    doc = {key: meta.get(key) for key in DOC_KEYS}
    doc["text"] = txt
    doc["spans"] = [{"id": gold_id[t], **spans[t]} for t in order]
    doc["links"] = links
    return doc


def export_brat(docs: list[dict[str, Any]], out: str | Path) -> int:
    """Write a brat collection (one .txt/.ann/.json per document plus the configuration)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "annotation.conf").write_text(ANNOTATION_CONF, encoding="utf-8")
    (out / "visual.conf").write_text(VISUAL_CONF, encoding="utf-8")
    for doc in docs:
        txt, ann, meta = document_to_brat(doc)
        (out / f"{doc['id']}.txt").write_text(txt, encoding="utf-8")
        (out / f"{doc['id']}.ann").write_text(ann, encoding="utf-8")
        (out / f"{doc['id']}.json").write_text(meta, encoding="utf-8")
    return len(docs)


def import_brat(folder: str | Path) -> list[dict[str, Any]]:
    """Every document of a brat collection written by :func:`export_brat` (or edited in brat)."""
    folder = Path(folder)
    docs = []
    for ann_path in sorted(folder.glob("*.ann")):
        txt = ann_path.with_suffix(".txt").read_text(encoding="utf-8")
        meta_path = ann_path.with_suffix(".json")
        meta = (
            json.loads(meta_path.read_text(encoding="utf-8"))
            if meta_path.exists()
            else {"id": ann_path.stem}
        )
        docs.append(brat_to_document(txt, ann_path.read_text(encoding="utf-8"), meta))
    return docs
