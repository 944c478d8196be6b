"""The gold corpus format: annotated notes as JSON lines with character offsets.

A gold document holds the note text; spans labelled IVUS, VESSEL, EXTENT, PATHOLOGY, FINDING,
PROCEDURE and NON_IVUS_MODALITY with their attributes; the links from each IVUS mention to the
vessel mentions it examined; the canonical vessel ids counted; the continuous-lesion merges; the
bundling service that suppresses IVUS (if any); the expected codes under each policy; and tags
naming the situations the note exercises. ``corpus/GUIDE.md`` is the annotation guide.

Notes are written in a light inline markup (``[[left CIV|VESSEL id=v1 vessel=vein.common_iliac.left
ivus=i1]]``) and compiled here into that format; ``validate_document`` checks offsets and that
the expected codes follow from the gold vessels under each policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .coder import cluster_groups
from .ontology import load_ontology
from .policy import load_policies

LABELS = (
    "IVUS",
    "VESSEL",
    "EXTENT",
    "PATHOLOGY",
    "FINDING",
    "PROCEDURE",
    "NON_IVUS_MODALITY",
)
ASSERTIONS = ("affirmed", "negated", "hypothetical", "historical", "attempted-no-images")
EXTENT_KINDS = ("lesion", "imaging", "treatment")
PROCEDURE_KINDS = (
    "angiography",
    "venography",
    "catheterization",
    "angioplasty",
    "stent",
    "atherectomy",
    "thrombectomy",
    "thrombolysis",
    "endograft",
    "embolization",
    "intervention",
    "ivc-filter-placement",
    "ivc-filter-repositioning",
    "ivc-filter-retrieval",
    "foreign-body-retrieval",
    "other",
)
MODALITY_KINDS = (
    "ice",
    "oct",
    "duplex",
    "us-guided-access",
    "tee",
    "pressure",
    "ffr",
    "angioscopy",
)
PATHOLOGY_KINDS = (
    "stenosis",
    "compression",
    "occlusion",
    "thrombus",
    "dissection",
    "web",
    "in-stent-restenosis",
    "aneurysm",
    "plaque",
    "calcification",
    "other",
)
FINDING_KINDS = (
    "area",
    "diameter",
    "percent",
    "apposition",
    "expansion",
    "morphology",
    "length",
    "other",
)
SPLITS = ("train", "dev", "test")
SOURCES = ("written", "generated")
POLICY_NAMES = ("sir", "named-vessel")

_CLOSE = re.compile(r"\|([A-Z_]+)((?:\s+[a-z_]+=[^\s\]]+)*)\s*\]\]")
_ATTR = re.compile(r"([a-z_]+)=([^\s\]]+)")


class MarkupError(ValueError):
    """The inline markup of a note source is malformed."""


@dataclass(frozen=True, slots=True)
class GoldSpan:
    id: str
    label: str
    start: int
    end: int
    text: str
    attrs: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "attrs": self.attrs,
        }


def parse_markup(body: str) -> tuple[str, list[GoldSpan]]:
    """Strip ``[[surface|LABEL key=value ...]]`` markup (nesting allowed) from ``body``.

    Returns the plain text and the spans with offsets into it. Span ids come from ``id=`` or
    are numbered ``s1, s2, ...`` in order of their start.
    """
    out: list[str] = []
    length = 0
    stack: list[int] = []
    raw_spans: list[tuple[int, int, str, dict[str, str]]] = []
    i = 0
    while i < len(body):
        if body.startswith("[[", i):
            stack.append(length)
            i += 2
            continue
        if stack and body[i] == "|":
            match = _CLOSE.match(body, i)
            if match:
                start = stack.pop()
                attrs = dict(_ATTR.findall(match.group(2)))
                raw_spans.append((start, length, match.group(1), attrs))
                i = match.end()
                continue
        if body.startswith("]]", i):
            problem = "closed without '|LABEL'" if stack else "']]' without an opening '[['"
            raise MarkupError(f"span {problem} near {body[max(0, i - 40) : i + 2]!r}")
        out.append(body[i])
        length += 1
        i += 1
    if stack:
        raise MarkupError(f"{len(stack)} span(s) opened with '[[' were never closed")
    text = "".join(out)
    raw_spans.sort(key=lambda s: (s[0], -s[1]))
    spans = []
    counter = 0
    for start, end, label, attrs in raw_spans:
        if label not in LABELS:
            raise MarkupError(f"unknown label {label!r} on {text[start:end]!r}")
        span_id = attrs.pop("id", None)
        if span_id is None:
            counter += 1
            span_id = f"s{counter}"
        spans.append(
            GoldSpan(span_id, label, start, end, text[start:end], _typed_attrs(label, attrs))
        )
    return text, spans


def _typed_attrs(label: str, attrs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in {"vessel", "ivus", "of"}:
            out[key] = [v for v in value.split(",") if v]
        else:
            out[key] = value
    if label in {"IVUS", "PROCEDURE", "NON_IVUS_MODALITY"}:
        out.setdefault("assertion", "affirmed")
    return out


def _parse_header(lines: list[str]) -> dict[str, Any]:
    header: dict[str, Any] = {}
    for line in lines:
        key, _, value = line[1:].partition(":")
        header[key.strip()] = value.strip()
    return header


def _parse_codes(value: str) -> dict[str, int]:
    codes = {"37252": 0, "37253": 0}
    for part in value.split():
        code, _, units = part.partition("=")
        if code not in codes or not units.isdigit():
            raise MarkupError(f"expected codes must read '37252=N 37253=N', got {value!r}")
        codes[code] = int(units)
    return codes


def compile_note(source: str, *, split: str, origin: str = "written") -> dict[str, Any]:
    """Compile one ``.note`` source (``# key: value`` header, blank line, marked-up body)."""
    lines = source.splitlines()
    header_lines = []
    index = 0
    while index < len(lines) and lines[index].startswith("#"):
        header_lines.append(lines[index])
        index += 1
    if index >= len(lines) or lines[index].strip():
        raise MarkupError("the header must be followed by one blank line")
    header = _parse_header(header_lines)
    body = "\n".join(lines[index + 1 :]).rstrip("\n") + "\n"
    text, spans = parse_markup(body)
    doc_id = header.get("id")
    if not doc_id:
        raise MarkupError("header has no '# id:'")
    links = []
    for span in spans:
        if span.label == "VESSEL":
            for ivus_id in span.attrs.get("ivus", []):
                links.append({"ivus": ivus_id, "vessel": span.id})
    merges = [
        [v.strip() for v in group.split("+") if v.strip()]
        for group in header.get("merges", "").split(";")
        if group.strip() and group.strip() != "none"
    ]
    suppressed = header.get("suppressed", "none")
    expected = {
        policy: _parse_codes(header.get(f"expected {policy}", "")) for policy in POLICY_NAMES
    }
    return {
        "id": doc_id,
        "source": origin,
        "split": split,
        "tags": _split_list(header.get("tags", "")),
        "text": text,
        "spans": [s.to_dict() for s in spans],
        "links": links,
        "vessels": _split_list(header.get("vessels", "")),
        "merges": merges,
        "suppressed": None if suppressed in ("", "none") else suppressed,
        "expected": expected,
        "flags": _split_list(header.get("flags", "")),
        "comment": header.get("note", ""),
    }


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip() and v.strip() != "none"]


# --- expected codes -------------------------------------------------------------------------
def expected_codes(
    vessels: Iterable[str], merges: list[list[str]], suppressed: str | None, policy: str
) -> dict[str, int]:
    """Codes that follow from a set of counted vessel ids under ``policy`` (RULEBOOK 1, 3, 4)."""
    if suppressed:
        return {"37252": 0, "37253": 0}
    ontology = load_ontology()
    chosen = load_policies().get(policy)

    def group(vid: str) -> str:
        base, side = ontology.split_side(vid)
        return chosen.group_of(base, side)

    groups = sorted({group(v) for v in vessels})
    joins = [[group(v) for v in merge] for merge in merges]
    units = len(cluster_groups(groups, joins))
    return {"37252": min(units, 1), "37253": max(units - 1, 0)}


# --- validation -----------------------------------------------------------------------------
def validate_document(doc: dict[str, Any]) -> list[str]:
    """Every inconsistency in one gold document, as readable messages (empty when valid)."""
    errors: list[str] = []
    ontology = load_ontology()
    text = doc.get("text", "")
    where = doc.get("id", "?")
    if doc.get("split") not in SPLITS:
        errors.append(f"{where}: split must be one of {SPLITS}")
    if doc.get("source") not in SOURCES:
        errors.append(f"{where}: source must be one of {SOURCES}")
    spans = {s["id"]: s for s in doc.get("spans", [])}
    if len(spans) != len(doc.get("spans", [])):
        errors.append(f"{where}: duplicate span ids")
    for span in spans.values():
        errors.extend(_check_span(where, text, span, spans, ontology))
    for link in doc.get("links", []):
        if spans.get(link["ivus"], {}).get("label") != "IVUS":
            errors.append(f"{where}: link names {link['ivus']!r}, which is not an IVUS span")
        if spans.get(link["vessel"], {}).get("label") != "VESSEL":
            errors.append(f"{where}: link names {link['vessel']!r}, which is not a VESSEL span")
    for vid in doc.get("vessels", []):
        if not ontology.is_known(vid) or vid.startswith("coronary."):
            errors.append(f"{where}: counted vessel {vid!r} is not a noncoronary vessel id")
    for merge in doc.get("merges", []):
        for vid in merge:
            if vid not in doc.get("vessels", []):
                errors.append(f"{where}: merged vessel {vid!r} is not among the counted vessels")
    if not errors:
        errors.extend(_check_vessels_follow_links(doc, spans))
    for policy in POLICY_NAMES:
        want = expected_codes(
            doc.get("vessels", []), doc.get("merges", []), doc.get("suppressed"), policy
        )
        got = doc.get("expected", {}).get(policy)
        if got != want:
            errors.append(
                f"{where}: expected codes under {policy} are {got}, the gold vessels give {want}"
            )
    return errors


def _check_span(
    where: str, text: str, span: dict[str, Any], spans: dict[str, dict[str, Any]], ontology: Any
) -> list[str]:
    errors = []
    sid, label, attrs = span["id"], span["label"], span.get("attrs", {})
    if (
        not (0 <= span["start"] < span["end"] <= len(text))
        or text[span["start"] : span["end"]] != span["text"]
    ):
        errors.append(f"{where}: span {sid} offsets do not match its text {span['text']!r}")
    if label not in LABELS:
        errors.append(f"{where}: span {sid} has unknown label {label!r}")
    allowed = {
        "IVUS": ("assertion", ASSERTIONS),
        "PROCEDURE": ("kind", PROCEDURE_KINDS),
        "NON_IVUS_MODALITY": ("kind", MODALITY_KINDS),
        "PATHOLOGY": ("kind", PATHOLOGY_KINDS),
        "FINDING": ("kind", FINDING_KINDS),
        "EXTENT": ("kind", EXTENT_KINDS),
    }
    if label in allowed:
        key, values = allowed[label]
        if attrs.get(key) not in values:
            errors.append(f"{where}: span {sid} ({label}) needs {key}= one of {values}")
    if label in {"PROCEDURE", "NON_IVUS_MODALITY"} and attrs.get("assertion") not in ASSERTIONS:
        errors.append(f"{where}: span {sid} has an unknown assertion")
    if label == "VESSEL":
        ids = attrs.get("vessel", [])
        if not ids:
            errors.append(f"{where}: VESSEL {sid} {span['text']!r} needs vessel=<canonical id>")
        for vid in ids:
            if not ontology.is_known(vid):
                errors.append(f"{where}: VESSEL {sid} names unknown vessel id {vid!r}")
    if label == "EXTENT":
        for key in ("from", "to"):
            ref = attrs.get(key)
            if spans.get(ref, {}).get("label") != "VESSEL":
                errors.append(f"{where}: EXTENT {sid} needs {key}=<id of a VESSEL span inside it>")
    if label == "FINDING":
        for ref in attrs.get("of", []):
            if spans.get(ref, {}).get("label") != "VESSEL":
                errors.append(f"{where}: FINDING {sid} of={ref} is not a VESSEL span")
    return errors


def examined_vessel_ids(doc: dict[str, Any]) -> set[str]:
    """Vessel ids the gold links imply: linked VESSEL spans of affirmed IVUS (noncoronary), the
    vessels between the ends of extents whose ends are both linked, with generic and side-less
    names absorbed by a specific sided vessel of their family (as the coder does)."""
    ontology = load_ontology()
    spans = {s["id"]: s for s in doc["spans"]}
    affirmed = {
        sid
        for sid, s in spans.items()
        if s["label"] == "IVUS" and s["attrs"]["assertion"] == "affirmed"
    }
    linked = {link["vessel"] for link in doc["links"] if link["ivus"] in affirmed}
    found: set[str] = set()
    for sid in linked:
        found.update(v for v in spans[sid]["attrs"]["vessel"] if not v.startswith("coronary."))
    for span in spans.values():
        if span["label"] != "EXTENT":
            continue
        a, b = span["attrs"]["from"], span["attrs"]["to"]
        if a in linked and b in linked:
            va, vb = spans[a]["attrs"]["vessel"], spans[b]["attrs"]["vessel"]
            if len(va) == 1 and len(vb) == 1 and not va[0].startswith("coronary."):
                sa, sb = ontology.split_side(va[0]), ontology.split_side(vb[0])
                path = ontology.path_between(sa[0], sa[1], sb[0], sb[1]) or []
                found.update(f"{base}.{side}" if side else base for base, side in path)
    return absorb_unspecific(found)


def absorb_unspecific(ids: set[str]) -> set[str]:
    """Drop generic or side-less ids when a specific, sided id of the same family is present."""
    ontology = load_ontology()
    kept = set(ids)
    for vid in sorted(ids):
        base, side = ontology.split_side(vid)
        if base in ontology.generics:
            covers = ontology.generics[base].covers
            if any(
                ontology.split_side(o)[0] in covers
                and (side is None or ontology.split_side(o)[1] == side)
                for o in ids
            ):
                kept.discard(vid)
        elif (
            side is None
            and ontology.is_paired(base)
            and any(ontology.split_side(o)[0] == base and ontology.split_side(o)[1] for o in ids)
        ):
            kept.discard(vid)
    return kept


def _check_vessels_follow_links(doc: dict[str, Any], spans: dict[str, dict[str, Any]]) -> list[str]:
    implied = examined_vessel_ids(doc)
    stated = set(doc.get("vessels", []))
    errors = []
    for vid in sorted(stated - implied):
        errors.append(
            f"{doc['id']}: counted vessel {vid} is not supported by a linked VESSEL span or extent"
        )
    for vid in sorted(implied - stated):
        errors.append(
            f"{doc['id']}: linked VESSEL spans imply {vid}, missing from the counted vessels"
        )
    return errors


# --- reading and writing --------------------------------------------------------------------
def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def write_jsonl(path: str | Path, docs: Iterable[dict[str, Any]]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def check_sources(paths: Iterable[str | Path], show: bool = False) -> int:
    """Compile and validate ``.note`` sources; print every problem; return the error count."""
    errors = 0
    for path in paths:
        path = Path(path)
        try:
            doc = compile_note(path.read_text(encoding="utf-8"), split="train")
        except MarkupError as exc:
            print(f"{path}: {exc}")
            errors += 1
            continue
        problems = validate_document(doc)
        for problem in problems:
            print(f"{path}: {problem}")
        errors += len(problems)
        if show:
            print(f"== {path} ({len(doc['text'].split())} words)")
            for span in doc["spans"]:
                attrs = " ".join(f"{k}={v}" for k, v in span["attrs"].items())
                print(f"  {span['id']:>4} {span['label']:<17} {span['text']!r} {attrs}")
            print(f"  vessels: {sorted(doc['vessels'])}  expected: {doc['expected']}")
    return errors


def print_vessel_ids() -> None:
    """Print every canonical id an annotator may use, with its label and whether it is paired."""
    ontology = load_ontology()
    for table, kind in (
        (ontology.vessels, "vessel"),
        (ontology.generics, "generic"),
        (ontology.coronaries, "coronary"),
    ):
        for vid, entry in table.items():
            paired = getattr(entry, "paired", False)
            print(f"{vid:<36} {kind:<9} {'paired' if paired else 'unpaired':<9} {entry.label}")


if __name__ == "__main__":  # python -m rules_core.gold check [--show] FILE... | ids
    import sys

    if sys.argv[1:2] == ["ids"]:
        print_vessel_ids()
        sys.exit(0)
    args = [a for a in sys.argv[1:] if a != "check"]
    show = "--show" in args
    files = [a for a in args if a != "--show"]
    count = check_sources(files, show=show)
    print(f"{len(files)} file(s), {count} problem(s)")
    sys.exit(1 if count else 0)


# --- building the split files -----------------------------------------------------------------
def split_of(doc_id: str, origin: str, folder: str) -> str:
    """Fixed split assignment. Written notes: the ``test`` folder is the test split (written
    before any tuning); other written notes go one in five to ``dev`` by a hash of their id.
    Generated notes: 60/20/20 by the same hash."""
    import hashlib

    bucket = int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 5
    if origin == "written":
        if folder == "test":
            return "test"
        return "dev" if bucket == 0 else "train"
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def build_corpus(src: str | Path, out: str | Path) -> dict[str, int]:
    """Compile ``src/written/{train,test}/*.note`` and ``src/generated/*.note`` into
    ``out/{train,dev,test}.jsonl``; raise :class:`MarkupError` listing every invalid note."""
    src, out = Path(src), Path(out)
    docs: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    problems: list[str] = []
    sources = [(p, "written", p.parent.name) for p in sorted((src / "written").glob("*/*.note"))]
    sources += [(p, "generated", "generated") for p in sorted((src / "generated").glob("*.note"))]
    seen: set[str] = set()
    for path, origin, folder in sources:
        try:
            doc = compile_note(path.read_text(encoding="utf-8"), split="train", origin=origin)
        except MarkupError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if doc["id"] in seen:
            problems.append(f"{path}: duplicate id {doc['id']}")
            continue
        seen.add(doc["id"])
        doc["split"] = split_of(doc["id"], origin, folder)
        problems.extend(f"{path}: {p}" for p in validate_document(doc))
        docs[doc["split"]].append(doc)
    if problems:
        raise MarkupError("\n".join(problems))
    counts = {}
    for split, items in docs.items():
        items.sort(key=lambda d: d["id"])
        counts[split] = write_jsonl(out / f"{split}.jsonl", items)
    return counts
