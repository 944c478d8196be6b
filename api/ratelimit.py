"""A per-caller token bucket (one per API key, per worker process).

Each request costs one token; a bucket holds ``burst`` tokens and refills at ``rate`` tokens per
second. An empty bucket answers 429 with ``Retry-After``. With N worker processes the effective
limit is N times the configured one (buckets are not shared between processes).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from .problems import Problem

MAX_CALLERS = 10_000


class RateLimiter:
    """``check(identity)`` takes a token or raises a 429 :class:`Problem`; ``rate=0`` is off."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # identity → (tokens, last refill)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, identity: str) -> None:
        if not self.enabled:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(identity, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._store(identity, tokens - 1.0, now)
                return
            self._store(identity, tokens, now)
        wait = math.ceil((1.0 - tokens) / self.rate)
        raise Problem(
            "rate-limited",
            f"Rate limit of {self.rate:g} requests/s (burst {self.burst}) exceeded; "
            f"retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )

    def _store(self, identity: str, tokens: float, now: float) -> None:
        if identity not in self._buckets and len(self._buckets) >= MAX_CALLERS:
            # Forget full buckets first: they are indistinguishable from new ones.
            full = [
                k
                for k, (t, last) in self._buckets.items()
                if t + (now - last) * self.rate >= self.burst
            ]
            for key in full or list(self._buckets)[: MAX_CALLERS // 10]:
                del self._buckets[key]
        self._buckets[identity] = (tokens, now)
