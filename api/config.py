"""Settings of the HTTP service, and how ``ivus-coder serve`` hands them to its worker processes.

uvicorn starts each worker from an import string, so the settings travel in one environment
variable (:data:`CONFIG_ENV`) as JSON. API keys never travel there: each worker reads them itself
from ``IVUS_CODER_API_KEYS`` or from the keys file named in the settings (see :mod:`api.auth`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

CONFIG_ENV = "IVUS_CODER_SERVICE_CONFIG"
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What a deployment may change. Defaults suit a service on a private network.

    ``rate_limit`` is requests per second per API key (per worker process), ``rate_burst`` the
    bucket size; ``rate_limit=0`` turns rate limiting off. ``linker`` is the vessel linker a
    request gets when it names none (``rules``, ``model`` or ``hybrid``; None: the pipeline's
    default, ``nlp.pipeline.DEFAULT_LINKER``).
    """

    insecure_no_auth: bool = False
    api_keys_file: str | None = None
    max_body_bytes: int = MIB
    batch_limit: int = 100
    rate_limit: float = 100.0
    rate_burst: int = 200
    access_log: bool = True
    linker: str | None = None

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")
        if self.batch_limit < 1:
            raise ValueError("batch_limit must be at least 1")
        if self.rate_limit < 0 or self.rate_burst < 1:
            raise ValueError("rate_limit must be >= 0 and rate_burst >= 1")
        if self.linker is not None:
            from nlp.pipeline import LINKERS

            if self.linker not in LINKERS:
                raise ValueError(f"linker must be one of {', '.join(LINKERS)}, not {self.linker!r}")

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ServiceSettings:
        """Settings from :data:`CONFIG_ENV` (defaults when unset; unknown keys are refused)."""
        raw = (environ if environ is not None else os.environ).get(CONFIG_ENV)
        if not raw:
            return cls()
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{CONFIG_ENV}: unknown settings {sorted(unknown)}")
        return cls(**data)
