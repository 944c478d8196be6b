"""API-key authentication: ``Authorization: Bearer KEY``.

Keys come from ``IVUS_CODER_API_KEYS`` (comma-separated) and/or a keys file (one key per line;
blank lines and ``#`` comments ignored). Keys are kept only as SHA-256 digests; a request is
known in logs and rate limits by a short fingerprint of its key, never by the key itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rules_core.errors import IvusCoderError

from .problems import Problem

KEYS_ENV = "IVUS_CODER_API_KEYS"
MIN_KEY_LENGTH = 16
log = logging.getLogger("ivus_coder.auth")

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="API key",
    description="An API key from IVUS_CODER_API_KEYS or the keys file: "
    "`Authorization: Bearer KEY`.",
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def read_keys(keys_file: str | None = None, environ: dict[str, str] | None = None) -> list[str]:
    """Keys from the environment and the keys file (E102 when the file cannot be read)."""
    env = environ if environ is not None else os.environ
    keys = [k.strip() for k in env.get(KEYS_ENV, "").split(",") if k.strip()]
    if keys_file:
        try:
            text = Path(keys_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise IvusCoderError(
                "E102", path=keys_file, detail=getattr(exc, "strerror", None) or str(exc)
            ) from exc
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                keys.append(line)
    return keys


@dataclass(frozen=True, slots=True)
class KeyStore:
    """The accepted keys as digest → fingerprint; ``enabled=False`` accepts every request."""

    digests: dict[str, str]
    enabled: bool = True

    @classmethod
    def from_keys(cls, keys: list[str]) -> KeyStore:
        if not keys:
            raise IvusCoderError("E101")
        short = sum(len(k) < MIN_KEY_LENGTH for k in keys)
        if short:
            log.warning("%d API key(s) are shorter than %d characters", short, MIN_KEY_LENGTH)
        return cls({_digest(k): "key:" + _digest(k)[:10] for k in keys})

    @classmethod
    def disabled(cls) -> KeyStore:
        return cls({}, enabled=False)

    def identify(self, key: str | None) -> str | None:
        """The fingerprint of a known key, else None."""
        if not key:
            return None
        return self.digests.get(_digest(key))


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> str:
    """FastAPI dependency: the caller's identity (key fingerprint, or ``anonymous:<client>`` when
    authentication is off), then the caller's rate limit. 401 / 429 as problems."""
    store: KeyStore = request.app.state.keys
    if store.enabled:
        identity = store.identify(credentials.credentials if credentials else None)
        if identity is None:
            detail = (
                "Send an API key as 'Authorization: Bearer KEY'."
                if credentials is None
                else "The API key is not known."
            )
            raise Problem(
                "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="ivus-coder"'}
            )
    else:
        identity = f"anonymous:{request.client.host if request.client else '-'}"
    request.state.identity = identity
    request.app.state.limiter.check(identity)
    return identity
