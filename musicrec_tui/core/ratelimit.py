"""Client-side pacing: a token bucket, capped exponential backoff with jitter, and Retry-After parsing.

Time is injected (`clock`, `sleep`) so tests run a minute of throttling in no real time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """At most `rate_per_minute` acquisitions a minute on average, bursts of up to `burst`.

    Thread-safe: a caller reserves its token under the lock (the balance may go negative) and sleeps outside
    it, so concurrent callers queue up in order instead of all waking at once.
    """

    def __init__(self, rate_per_minute: float, *, burst: float = 1.0, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed. Returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random, floor: float = 0.0) -> float:
    """Delay before retry number `attempt` (0-based): uniform in [floor*ceiling, ceiling].

    ceiling = min(cap, base * 2**attempt). `floor` 0 is "full jitter"; 0.5 is "equal jitter", whose sum has a
    guaranteed lower bound, which is what outlasting a fixed throttle window needs.
    """
    ceiling = min(cap, base * (2.0 ** min(attempt, 62)))
    return rng.uniform(floor * ceiling, ceiling)


def guaranteed_backoff(retries: int, *, base: float, cap: float, floor: float) -> float:
    """The least total time `retries` backoff delays can add up to (worst-case jitter)."""
    return sum(floor * min(cap, base * (2.0 ** min(i, 62))) for i in range(retries))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent/invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def http_date(timestamp: float) -> str:
    """Format a POSIX timestamp as an HTTP date (IMF-fixdate)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
