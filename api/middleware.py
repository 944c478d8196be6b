"""The service's one ASGI middleware: request id, body limit, security headers, metrics, the
access log, and the last line of defence against stack traces.

Pure ASGI (no ``BaseHTTPMiddleware``) to keep the per-request cost to a few microseconds. The
access log names the route template, the status, the time and the caller's key fingerprint;
never a body, a query string or note text. An unexpected exception is logged as its type and
the code locations it passed through (not its message, which could quote input) and answered as
a 500 problem.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics
from .problems import Problem, render

log = logging.getLogger("ivus_coder.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI re-raises
    HTTPExceptions from body parsing, so this reaches the problem handler as a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is over the limit of {limit} bytes.")


class ServiceMiddleware:
    """See the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        given_id = next((v.decode("latin-1") for k, v in headers if k == b"x-request-id"), "")
        request_id = given_id if _REQUEST_ID.match(given_id) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        status = 500
        response_started = False
        no_store = not path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                extra = [*_COMMON_HEADERS, (b"x-request-id", request_id.encode("ascii"))]
                if no_store and not any(
                    k == b"cache-control" for k, _ in message.get("headers", [])
                ):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            problem = self._precheck(headers)
            if problem is not None:
                await render(problem, path, request_id)(scope, receive, send_with_headers)
            else:
                await self.app(scope, self._limited(receive), send_with_headers)
        except Exception as exc:
            if isinstance(exc, BodyTooLarge):
                problem = Problem("body-too-large", exc.detail)
            else:
                frames = "".join(traceback.format_tb(exc.__traceback__))
                log.error(
                    "unhandled %s on %s %s [%s]\n%s",
                    type(exc).__name__,
                    scope["method"],
                    _route(scope),
                    request_id,
                    frames,
                )
                problem = Problem(
                    "internal-error", f"An internal error occurred; quote request id {request_id}."
                )
            if not response_started:
                await render(problem, path, request_id)(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started_at
            route = _route(scope)
            self.metrics.observe_request(scope["method"], route, status, seconds)
            if self.access_log:
                state = scope.get("state", {})
                log.info(
                    '%s "%s %s" %d %.1fms %s',
                    request_id,
                    scope["method"],
                    route,
                    status,
                    seconds * 1000,
                    state.get("identity", "-"),
                )

    def _precheck(self, headers: list[tuple[bytes, bytes]]) -> Problem | None:
        """413 on a declared Content-Length over the limit, before reading anything."""
        length = next((v for k, v in headers if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return Problem(
                "body-too-large",
                f"The request body is over the limit of {self.max_body_bytes} bytes.",
            )
        return None

    def _limited(self, receive: Receive) -> Receive:
        limit = self.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return limited_receive


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "<unmatched>"
