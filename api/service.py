"""The HTTP service (FastAPI): ``create_app(settings)``.

One coding pipeline per vessel linker in each worker process, on the process's coding thread
(:mod:`api.runtime`): the default linker's (``serve --linker``) is built at start-up, and
``/readyz`` says when it is ready; another linker's is built when a request first names it.
Endpoints:

- ``POST /v1/code``, ``POST /v1/code/batch``: the JSON result contract (DESIGN.md);
- ``POST /fhir/DocumentReference/$ivus-code``: FHIR R4 (:mod:`api.fhir`);
- ``POST /hl7v2/mdm``: HL7 v2 MDM^T02 in, JSON or DFT^P03 out (:mod:`api.hl7v2`);
- ``GET /v1/rules``: versions, policies, settings, flags and the vessel table;
- ``GET /healthz``, ``GET /readyz``, ``GET /metrics``; ``GET /``: the review page.

Authentication (:mod:`api.auth`) guards the ``/v1``, ``/fhir`` and ``/hl7v2`` endpoints. Errors
are problem+json (:mod:`api.problems`), OperationOutcome under ``/fhir``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, Response

from rules_core import CodingSettings, load_ontology, load_policies
from rules_core.errors import IvusCoderError, RuleFileError

from . import fhir, hl7v2
from .auth import KeyStore, authenticate, read_keys
from .coding import Coder, error_record
from .config import ServiceSettings
from .metrics import Metrics
from .middleware import ServiceMiddleware
from .openapi import install_openapi
from .problems import FHIR_JSON, Problem, problem_for_status, problem_responses, render
from .ratelimit import RateLimiter
from .runtime import CoderRuntime
from .schemas import (
    DOCUMENTATION_HELP,
    LINKER_HELP,
    LINKER_MODES,
    MUE_HELP,
    POLICY_HELP,
    BatchDocument,
    BatchRequest,
    BatchResponse,
    CodeRequest,
    CodeResult,
    DocumentationMode,
    Health,
    LinkerName,
    PolicyName,
    Ready,
    Rules,
)
from .spans import build_spans

log = logging.getLogger("ivus_coder.service")
JSON = "application/json"
CONSUMES: dict[str, tuple[str, ...]] = {
    "/v1/code": (JSON,),
    "/v1/code/batch": (JSON,),
    "/fhir/DocumentReference/$ivus-code": (FHIR_JSON, JSON),
    "/hl7v2/mdm": hl7v2.ACCEPTED_TYPES,
}
CODING_ERRORS = (400, 401, 413, 415, 422, 429, 503)
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
DESCRIPTION = """\
Finds noncoronary intravascular ultrasound (IVUS) in dictated procedure notes and proposes CPT
+37252/+37253, every unit backed by evidence spans (character offsets, in Unicode code points,
into the note as sent).

**Authentication**: `Authorization: Bearer KEY` on every `/v1`, `/fhir` and `/hl7v2` endpoint.
**Errors**: `application/problem+json` (RFC 9457) with a stable `type`, the numbered error `code`
when there is one, and the request id; FHIR endpoints answer errors as `OperationOutcome`.
**Limits**: request bodies over the configured size (default 1 MiB) get 413; batches over the
configured number of documents get 413; each API key has a token-bucket rate limit (429 with
`Retry-After`). Note text is never logged.
**Vessel linkers**: `linker` (`rules`, `model` or `hybrid`; in the body of `/v1/code` and
`/v1/code/batch`, in the query of `$ivus-code` and `/hl7v2/mdm`) chooses who decides which
vessels each IVUS mention examined; a request that names none gets the server's default
(`default_linker` in `GET /v1/rules`), and each result's `ruleset_version` names the linker and
its weights. Each worker process builds the default linker's pipeline at start-up (`/readyz` is
ready once it is built); another linker's pipeline is built on its first request, which waits for
the build (about half a second), and is kept from then on.
"""

Include = Literal["spans"]
_item_adapter: TypeAdapter[BatchDocument] = TypeAdapter(BatchDocument)


def _package_version() -> str:
    try:
        return version("ivus-coder")
    except PackageNotFoundError:
        return "0+unknown"


async def media_type(request: Request) -> None:
    """Dependency, after authentication: 415 when a POST's Content-Type is not one the endpoint
    reads (``CONSUMES``)."""
    accepted = CONSUMES.get(request.url.path)
    if not accepted or request.method != "POST":
        return
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in accepted:
        shown = f"Content-Type {media}" if media else "A request without Content-Type"
        raise Problem(
            "unsupported-media-type",
            f"{shown} is not accepted here; send {' or '.join(accepted)}.",
        )


def coding_settings(documentation: str | None, mue_37253: int | None) -> CodingSettings:
    """Validated per-request settings (E005, E006 as 422 problems)."""
    try:
        return load_policies().settings(documentation, mue_37253)
    except IvusCoderError as exc:
        raise Problem.from_error(exc) from exc


@dataclass(frozen=True, slots=True)
class CodingQuery:
    """The coding options of an endpoint whose body is a document (FHIR, HL7 v2): query
    parameters, declared once in :func:`coding_query`."""

    policy: str | None
    linker: str | None
    settings: CodingSettings


def coding_query(
    policy: Annotated[PolicyName | None, Query(description=POLICY_HELP)] = None,  # type: ignore[valid-type]
    documentation: Annotated[
        DocumentationMode | None, Query(description=DOCUMENTATION_HELP)
    ] = None,  # type: ignore[valid-type]
    mue_37253: Annotated[int | None, Query(ge=1, le=1000, description=MUE_HELP)] = None,
    linker: Annotated[LinkerName | None, Query(description=LINKER_HELP)] = None,  # type: ignore[valid-type]
) -> CodingQuery:
    """Dependency: the coding options in the query, validated (422 problems)."""
    return CodingQuery(policy, linker, coding_settings(documentation, mue_37253))


QueryOptions = Annotated[CodingQuery, Depends(coding_query)]


def _json(data: Any, status: int = 200, media_type: str = JSON) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type=media_type)


@cache
def rules_document(default_linker: str) -> dict[str, Any]:
    """``GET /v1/rules``: what every result depends on; the versions at the top are those of
    results made with ``default_linker``."""
    from nlp.rules_io import extractor_version
    from rules_core.version import core_version, ruleset_version

    linkers: dict[str, dict[str, Any]] = {}
    for name, description in LINKER_MODES.items():
        try:
            extractor: str | None = extractor_version(name)
        except RuleFileError as exc:  # unusable weights: that linker cannot be built either
            log.error("linker %s is unavailable: %s", name, exc.detail)
            extractor = None
        linkers[name] = {
            "description": description,
            "extractor_version": extractor,
            "ruleset_version": ruleset_version(extractor) if extractor else None,
        }
    policies = load_policies()
    ontology = load_ontology()
    groups: dict[str, dict[str, list[str]]] = {}
    for name, policy in policies.policies.items():
        table: dict[str, list[str]] = {}
        for member, group in policy.member_to_group.items():
            table.setdefault(group, []).append(member)
        groups[name] = table
    defaults = policies.settings_file.defaults
    return {
        "ruleset_version": linkers[default_linker]["ruleset_version"],
        "core_version": core_version(),
        "extractor_version": linkers[default_linker]["extractor_version"],
        "default_policy": policies.default,
        "default_linker": default_linker,
        "linkers": linkers,
        "policies": {
            name: {
                "title": p.title,
                "source": p.source,
                "description": p.description,
                "groups": groups[name],
            }
            for name, p in policies.policies.items()
        },
        "settings": {"documentation": defaults.documentation, "mue_37253": defaults.mue_37253},
        "documentation_modes": dict(policies.settings_file.documentation_modes),
        "flags": dict(policies.settings_file.flags),
        "bundling_services": {
            k: v.model_dump() for k, v in policies.settings_file.bundling_services.items()
        },
        "vessels": [v.model_dump() for v in ontology.vessels.values()],
        "generic_vessels": [v.model_dump() for v in ontology.generics.values()],
        "coronary_vessels": [v.model_dump() for v in ontology.coronaries.values()],
        "regions": [v.model_dump() for v in ontology.regions.values()],
    }


def _with_spans(coded: Any, include: str | None) -> dict[str, Any]:
    if include == "spans":
        return {**coded.result, "spans": build_spans(coded.facts, coded.result)}
    return coded.result


# --- routes -----------------------------------------------------------------------------------
def _coding_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(authenticate), Depends(media_type)], tags=["coding"])

    @router.post(
        "/v1/code",
        response_model=CodeResult,
        response_model_exclude_none=True,
        summary="Code one note",
        responses=problem_responses(*CODING_ERRORS),
        description="The result contract for one note. `?include=spans` adds every highlighted "
        "span (IVUS, vessel, extent, finding, pathology, procedure, modality) with its offsets "
        "and links, as the review page draws them. `linker` chooses the vessel linker (default: "
        "the server's); the first request for a linker other than the default waits while its "
        "pipeline is built. A note that cannot be coded (empty, binary, too long) is a 422 (413 "
        "for too long) problem with its error code.",
    )
    async def code(request: Request, body: CodeRequest, include: Include | None = None) -> Response:
        settings = coding_settings(body.documentation, body.mue_37253)
        app_state = request.app.state
        try:
            coded, seconds = await app_state.runtime.code(
                body.text, body.id, body.policy, settings, body.linker
            )
        except IvusCoderError as exc:
            app_state.metrics.observe_error("json")
            raise Problem.from_error(exc) from exc
        app_state.metrics.coding_seconds.observe(seconds)
        app_state.metrics.observe_result("json", coded.result)
        return _json(_with_spans(coded, include))

    @router.post(
        "/v1/code/batch",
        response_model=BatchResponse,
        summary="Code several notes",
        responses=problem_responses(*CODING_ERRORS),
        description="Results in input order. `policy` and `linker` apply to every document "
        "that does not name its own. A document that cannot be coded (not an object with a "
        "string text, empty, binary, unknown policy or linker) gets an error record "
        "`{document_id, error: {code, message}}` in its place; the batch goes on. More "
        "documents than the configured batch limit (default 100) is a 413 problem.",
    )
    async def code_batch(
        request: Request, body: BatchRequest, include: Include | None = None
    ) -> Response:
        app_state = request.app.state
        limit = app_state.settings.batch_limit
        if len(body.documents) > limit:
            raise Problem.from_error(IvusCoderError("E104", count=len(body.documents), limit=limit))
        settings = coding_settings(body.documentation, body.mue_37253)
        results: list[dict[str, Any]] = []
        for index, item in enumerate(body.documents):
            record = await _code_batch_item(app_state, index, item, body, settings, include)
            app_state.metrics.observe_result("batch", record)
            results.append(record)
        return _json({"results": results})

    @router.get(
        "/v1/rules",
        response_model=Rules,
        summary="Ruleset versions, linkers, policies and the vessel table",
        description="What a result depends on. `ruleset_version` and `extractor_version` are "
        "those of the default linker (`default_linker`); `linkers` gives every linker a request "
        "may name, with the versions its results carry.",
        responses=problem_responses(401, 429),
    )
    async def rules(request: Request) -> Response:
        return _json(rules_document(request.app.state.runtime.default_linker))

    return router


async def _code_batch_item(
    app_state: Any,
    index: int,
    item: Any,
    batch: BatchRequest,
    settings: CodingSettings,
    include: str | None,
) -> dict[str, Any]:
    if not isinstance(item, BatchDocument):
        document_id = (
            item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        )
        try:
            _item_adapter.validate_python(item)
            detail = "not a document"
        except ValidationError as exc:
            detail = fhir._brief(exc)
        return error_record(document_id, IvusCoderError("E103", index=index, detail=detail))
    try:
        coded, seconds = await app_state.runtime.code(
            item.text, item.id, item.policy or batch.policy, settings, item.linker or batch.linker
        )
    except IvusCoderError as exc:
        return error_record(item.id, exc)
    app_state.metrics.coding_seconds.observe(seconds)
    return _with_spans(coded, include)


def _fhir_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(authenticate), Depends(media_type)], tags=["fhir"])
    fhir_ok = {
        "description": "A Bundle (type collection): per document, one ChargeItem per code line, a "
        "DetectedIssue per review flag (an OperationOutcome of severity information when there "
        "is neither), and a Provenance; an OperationOutcome (error) for a document that could "
        "not be coded.",
        "content": {
            FHIR_JSON: {
                "schema": {
                    "type": "object",
                    "required": ["resourceType", "type", "entry"],
                    "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]}},
                }
            }
        },
    }
    request_schema = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": ["DocumentReference", "Bundle"]}},
        "description": "A DocumentReference with the note as a text/plain attachment (base64 "
        "`data`), or a Bundle whose entries hold DocumentReferences.",
    }

    @router.post(
        "/fhir/DocumentReference/$ivus-code",
        summary="FHIR R4 operation $ivus-code",
        response_class=Response,
        responses={200: fhir_ok, **problem_responses(400, 401, 413, 415, 422, 429, 503, fhir=True)},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    FHIR_JSON: {"schema": request_schema},
                    JSON: {"schema": request_schema},
                },
            }
        },
        description="Codes the text/plain attachment of a DocumentReference, or of each "
        "DocumentReference in a Bundle. Errors are OperationOutcome resources; in a Bundle, "
        "a DocumentReference that cannot be coded gets an OperationOutcome entry and the "
        "others are still coded. Coding options (policy, documentation, mue_37253, linker) are "
        "operation parameters in the query.",
    )
    async def fhir_ivus_code(request: Request, options: QueryOptions) -> Response:
        app_state = request.app.state
        try:
            documents, single = fhir.read_request(
                await request.body(), app_state.settings.batch_limit
            )
        except IvusCoderError as exc:
            raise Problem.from_error(exc) from exc
        entries: list[dict[str, Any]] = []
        for document in documents:
            outcome: dict[str, Any] | IvusCoderError
            if document.error is not None:
                outcome = document.error
            else:
                try:
                    coded, seconds = await app_state.runtime.code(
                        document.text or "",
                        document.document_id,
                        options.policy,
                        options.settings,
                        options.linker,
                    )
                    app_state.metrics.coding_seconds.observe(seconds)
                    outcome = coded.result
                except IvusCoderError as exc:
                    if single:
                        app_state.metrics.observe_error("fhir")
                        raise Problem.from_error(exc) from exc
                    outcome = exc
            if isinstance(outcome, IvusCoderError):
                app_state.metrics.observe_error("fhir")
            else:
                app_state.metrics.observe_result("fhir", outcome)
            entries.extend(fhir.document_entries(document, outcome))
        return _json(fhir.response_bundle(entries), media_type=FHIR_JSON)

    return router


def _hl7_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(authenticate), Depends(media_type)], tags=["hl7v2"])
    message_schema = {
        "type": "string",
        "description": "An ER7-encoded MDM^T02 message (segments separated by CR).",
    }

    @router.post(
        "/hl7v2/mdm",
        summary="HL7 v2 MDM^T02 in; JSON, or DFT^P03 out",
        response_class=Response,
        responses={
            200: {
                "description": "The result contract (JSON); with "
                "`Accept: x-application/hl7-v2+er7`, "
                "a DFT^P03 (HL7 v2.5) with one FT1 per code line, or an ACK^T02 (MSA-1 AA) "
                "saying no charge is proposed when there is no code line.",
                "content": {
                    JSON: {"schema": {"$ref": "#/components/schemas/CodeResult"}},
                    hl7v2.ER7: {"schema": {"type": "string"}},
                },
            },
            **problem_responses(*CODING_ERRORS),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {media: {"schema": message_schema} for media in hl7v2.ACCEPTED_TYPES},
            }
        },
        description="Reads the report text from the OBX segments of an MDM^T02 (also T04, T06, "
        "T08, T10), one line per OBX, HL7 escapes decoded; the document id is TXA-12 (else "
        "MSH-10). The body is UTF-8 unless the Content-Type names another charset. Coding "
        "options (policy, documentation, mue_37253, linker) are query parameters.",
    )
    async def hl7_mdm(
        request: Request, options: QueryOptions, include: Include | None = None
    ) -> Response:
        app_state = request.app.state
        charset = _charset(request.headers.get("content-type", ""))
        try:
            mdm = hl7v2.read_mdm(await request.body(), charset)
            coded, seconds = await app_state.runtime.code(
                mdm.text, mdm.document_id, options.policy, options.settings, options.linker
            )
        except IvusCoderError as exc:
            app_state.metrics.observe_error("hl7v2")
            raise Problem.from_error(exc) from exc
        app_state.metrics.coding_seconds.observe(seconds)
        app_state.metrics.observe_result("hl7v2", coded.result)
        if "hl7-v2" in request.headers.get("accept", "").lower():
            return Response(hl7v2.build_answer(mdm, coded.result), media_type=hl7v2.ER7)
        return _json(_with_spans(coded, include))

    return router


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @router.get(
        "/readyz",
        response_model=Ready,
        summary="Readiness: the default linker's coding pipeline is built",
        description="Ready (200) once this worker process has built the pipeline of the default "
        "linker. The pipelines of the other linkers are built when a request first names one "
        "(`linkers_built` lists those built so far in this process); such a first request waits "
        "for the build.",
        responses=problem_responses(503),
    )
    async def readyz(request: Request) -> Response:
        from rules_core.version import ruleset_version

        runtime: CoderRuntime = request.app.state.runtime
        coder = runtime.coder
        if coder is None:
            detail = runtime.build_error or "The coding pipeline is being built."
            raise Problem("not-ready", detail, headers={"Retry-After": "1"})
        return _json(
            {
                "status": "ready",
                "ruleset_version": ruleset_version(coder.extractor.version),
                "build_seconds": runtime.build_seconds,
                "linker": runtime.default_linker,
                "linkers_built": runtime.built,
            }
        )

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics(request: Request) -> Response:
        registry: Metrics = request.app.state.metrics
        return Response(registry.exposition(), media_type=registry.content_type)

    return router


STATIC = resources.files("api") / "static"


def _page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def review_page() -> Response:
        return FileResponse(
            str(STATIC / "index.html"),
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY"},
        )

    return router


# --- error handlers ---------------------------------------------------------------------------
def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return render(exc, request.url.path, _request_id(request))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    problem = problem_for_status(exc.status_code, str(exc.detail) if exc.detail else None)
    problem.headers.update(exc.headers or {})
    return render(problem, request.url.path, _request_id(request))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        problem = Problem("malformed-json", "The request body is not valid JSON.")
    else:
        shown = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3])
        problem = Problem(
            "invalid-request",
            shown or "The request does not match the API schema.",
            errors=errors[:50],
        )
    return render(problem, request.url.path, _request_id(request))


async def _on_coder_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IvusCoderError)
    return render(Problem.from_error(exc), request.url.path, _request_id(request))


# --- the app ----------------------------------------------------------------------------------
def create_app(
    settings: ServiceSettings | None = None,
    *,
    coder: Coder | None = None,
    keys: KeyStore | None = None,
    factory: Callable[[str], Coder] | None = None,
) -> FastAPI:
    """The service. ``coder``: a ready pipeline to use for its linker (tests); by default each
    process builds its own at start-up, for ``settings.linker``. ``factory(linker)``: how the
    other linkers' coders are built (default :meth:`Coder.with_linker`). ``keys``: the accepted
    API keys; by default read from the environment and ``settings.api_keys_file`` (E101 when
    there are none and auth is not switched off)."""
    settings = settings or ServiceSettings()
    if keys is None:
        if settings.insecure_no_auth:
            keys = KeyStore.disabled()
        else:
            keys = KeyStore.from_keys(read_keys(settings.api_keys_file))
    runtime = CoderRuntime(
        coder, factory=factory or Coder.with_linker, default_linker=settings.linker
    )
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield
        runtime.close()

    app = FastAPI(
        title="IVUS Coder",
        version=_package_version(),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        openapi_tags=[
            {"name": "coding", "description": "The JSON result contract."},
            {"name": "fhir", "description": "FHIR R4 (ChargeItem, Provenance, DetectedIssue)."},
            {"name": "hl7v2", "description": "HL7 v2 (MDM^T02 in, DFT^P03 out)."},
            {"name": "operations", "description": "Health, readiness and metrics."},
        ],
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(IvusCoderError, _on_coder_error)
    for router in (_coding_router(), _fhir_router(), _hl7_router(), _ops_router(), _page_router()):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        access_log=settings.access_log,
    )
    install_openapi(app, description=DESCRIPTION, auth_enabled=keys.enabled)
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory for ``ivus-coder serve`` workers: settings from the environment."""
    return create_app(ServiceSettings.from_env())
