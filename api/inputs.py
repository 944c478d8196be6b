"""Reading documents for a batch: text files, folders of .txt files, JSON lines, CSV, or stdin.

Each input yields :class:`InputDocument` records in input order. A document that cannot be read
(missing, not UTF-8, binary, a malformed JSON line) becomes a record carrying its error, so the
batch goes on and the error is reported for that document alone.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rules_core.errors import DocumentError, IvusCoderError

from .coding import decode_document

csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True, slots=True)
class InputDocument:
    id: str
    text: str | None
    error: IvusCoderError | None = None


def _from_file(path: Path, doc_id: str) -> InputDocument:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return InputDocument(
            doc_id, None, DocumentError("E014", doc=doc_id, detail=exc.strerror or str(exc))
        )
    try:
        return InputDocument(doc_id, decode_document(raw, doc_id))
    except DocumentError as exc:
        return InputDocument(doc_id, None, exc)


def _jsonl(path: Path, handle: object, id_field: str, text_field: str) -> Iterator[InputDocument]:
    for number, line in enumerate(handle, start=1):  # type: ignore[attr-defined]
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
            doc_id = str(record.get(id_field, f"{path.name}:{number}"))
            text = record[text_field]
            if not isinstance(text, str):
                raise ValueError(f"'{text_field}' is not a string")
        except (ValueError, KeyError) as exc:
            doc_id = f"{path.name}:{number}"
            yield InputDocument(
                doc_id, None, DocumentError("E017", line=number, path=str(path), detail=str(exc))
            )
            continue
        yield InputDocument(doc_id, text)


def _csv(path: Path, handle: object, id_field: str, text_field: str) -> Iterator[InputDocument]:
    reader = csv.DictReader(handle)  # type: ignore[arg-type]
    columns = reader.fieldnames or []
    for column in (text_field,):
        if column not in columns:
            raise IvusCoderError("E016", path=str(path), column=column, columns=", ".join(columns))
    for number, row in enumerate(reader, start=1):
        doc_id = row.get(id_field) or f"{path.name}:{number}"
        yield InputDocument(str(doc_id), row.get(text_field) or "")


def iter_documents(
    inputs: list[str],
    *,
    id_field: str = "id",
    text_field: str = "text",
    stdin_format: str = "text",
    unique: bool = False,
) -> Iterator[InputDocument]:
    """Documents from every input, in order (folders sorted by file name).

    ``unique``: skip a JSONL/CSV row whose id was already seen (the mtsamples export lists one
    report under each of its specialties).
    """
    seen: set[str] = set()
    for item in inputs:
        if item == "-":
            if stdin_format == "jsonl":
                yield from _jsonl(Path("<stdin>"), sys.stdin, id_field, text_field)
            else:
                raw = sys.stdin.buffer.read()
                try:
                    yield InputDocument("stdin", decode_document(raw, "stdin"))
                except DocumentError as exc:
                    yield InputDocument("stdin", None, exc)
            continue
        path = Path(item)
        if path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt"):
                yield _from_file(child, child.name)
            continue
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            yield _from_file(path, path.name)  # any other file is one plain-text note
            continue
        try:
            content = decode_document(path.read_bytes(), path.name)
        except OSError as exc:
            yield InputDocument(
                path.name,
                None,
                DocumentError("E014", doc=path.name, detail=exc.strerror or str(exc)),
            )
            continue
        except DocumentError as exc:
            yield InputDocument(path.name, None, exc)
            continue
        lines = io.StringIO(content, newline="")
        rows = (_jsonl if suffix == ".jsonl" else _csv)(path, lines, id_field, text_field)
        for doc in rows:
            if unique:
                if doc.id in seen:
                    continue
                seen.add(doc.id)
            yield doc
