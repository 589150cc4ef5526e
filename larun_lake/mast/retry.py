"""Retrying MAST requests: exponential back-off with full jitter, honouring Retry-After.

No MAST client retries by itself, so every metadata query and every download goes through here.
Sleep and the random source are injectable, which keeps tests fast and deterministic.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests

T = TypeVar("T")

# Statuses after which the same request may succeed later; other 4xx never will.
RETRY_STATUSES = frozenset({429})


class TransientError(Exception):
    """A failure our own checks detected (short body, size mismatch) that a retry may cure."""


@dataclass
class RetryPolicy:
    """`attempts` is the total number of tries, the first included."""

    attempts: int = 6
    backoff: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0  # a server asking for longer is waited on for this long only
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    @classmethod
    def from_retries(cls, retries: int, backoff: float, **kwargs: object) -> RetryPolicy:
        return cls(attempts=max(1, retries + 1), backoff=backoff, **kwargs)  # type: ignore[arg-type]

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.backoff * 2 ** (attempt - 1))
        jittered = ceiling * self.random()  # full jitter spreads clients that failed together
        if retry_after is None:
            return jittered
        return max(min(retry_after, self.max_retry_after), jittered)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def status_is_transient(status: int) -> bool:
    return status >= 500 or status in RETRY_STATUSES


def classify(exc: BaseException) -> tuple[bool, float | None]:
    """(may a retry help, Retry-After seconds) for an exception raised by a request."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if not status_is_transient(status):
            return False, None
        retry_after = parse_retry_after(exc.response.headers.get("Retry-After")) if status in (429, 503) else None
        return True, retry_after
    transient = (
        requests.ConnectionError,  # refused, reset, dropped, read timeout while streaming
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,  # body shorter than Content-Length
        requests.exceptions.ContentDecodingError,
        requests.exceptions.JSONDecodeError,  # a gateway's HTML page instead of MAST's JSON
        TransientError,
        ConnectionError,
        TimeoutError,  # also astroquery's long-poll limit
    )
    return isinstance(exc, transient), None


def retry_call(
    fn: Callable[[int], T],
    policy: RetryPolicy,
) -> T:
    """Call `fn(attempt)` until it returns, a non-transient error occurs, or attempts run out.

    The last exception is re-raised unchanged; callers translate it into their own errors.
    """
    attempt = 1
    while True:
        try:
            return fn(attempt)
        except Exception as exc:
            transient, retry_after = classify(exc)
            if not transient or attempt >= policy.attempts:
                raise
            policy.sleep(policy.delay(attempt, retry_after))
            attempt += 1
