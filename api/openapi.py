"""The OpenAPI document: FastAPI's, plus the request examples of ``api/examples/``.

Each example file is one request (method, path, query, headers, body) and what it must answer
(``expect``). The same files fill the OpenAPI ``examples`` of each operation's request body and
are run as tests (``tests/api/test_examples.py``), so the documented examples cannot go stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    summary: str
    description: str
    method: str
    path: str
    content_type: str
    body: Any
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)

    def raw_body(self) -> bytes:
        """The body as sent: JSON bodies serialized, text bodies with HL7 segment separators."""
        if isinstance(self.body, str):
            return self.body.replace("\n", "\r").encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@cache
def load_examples() -> tuple[Example, ...]:
    """Every example file, sorted by name."""
    folder = resources.files("api") / "examples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        body = data["body"]
        if isinstance(body, list) and all(isinstance(line, str) for line in body):
            body = "\n".join(body)  # text bodies are stored one line per list item
        out.append(
            Example(
                name=entry.name.removesuffix(".json"),
                summary=data["summary"],
                description=data.get("description", ""),
                method=data["method"].upper(),
                path=data["path"],
                content_type=data["content_type"],
                body=body,
                query=data.get("query", {}),
                headers=data.get("headers", {}),
                expect=data["expect"],
            )
        )
    return tuple(out)


def _example_value(example: Example) -> Any:
    return example.body.replace("\n", "\r") if isinstance(example.body, str) else example.body


def install_openapi(app: FastAPI, *, description: str, auth_enabled: bool) -> None:
    """Replace ``app.openapi`` with a generator that adds the examples (and drops the security
    requirement when authentication is off, so the document says what the server does)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for example in load_examples():
            operation = schema["paths"].get(example.path, {}).get(example.method.lower())
            if operation is None:
                raise KeyError(
                    f"example {example.name}: no operation {example.method} {example.path}"
                )
            content = operation.setdefault("requestBody", {}).setdefault("content", {})
            media = content.setdefault(example.content_type, {"schema": {"type": "string"}})
            text = example.description
            if example.query:
                text = (
                    (text + " " if text else "")
                    + "Query: "
                    + "&".join(f"{k}={v}" for k, v in example.query.items())
                    + "."
                )
            if example.headers:
                text += (
                    " Headers: " + ", ".join(f"{k}: {v}" for k, v in example.headers.items()) + "."
                )
            media.setdefault("examples", {})[example.name] = {
                "summary": example.summary,
                "description": text.strip(),
                "value": _example_value(example),
            }
        if not auth_enabled:
            for item in schema["paths"].values():
                for operation in item.values():
                    operation.pop("security", None)
            schema.get("components", {}).pop("securitySchemes", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
