"""Failures the fake MAST server can inject, matched per request."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("invoke", "columnsconfig", "download", "head", "resolve", "tesscut")


@dataclass
class Fault:
    """One injected failure.

    Matching: ``kind`` (one of KINDS, a tuple of them, or None for any),
    ``service`` (invoke or column-config service name, or ``sector``/``astrocut`` for
    TESScut; case-insensitive) and
    ``uri`` (substring of the download URI; for other requests of the path and
    query).  Applied to the first ``times`` matches (1 when neither ``times``
    nor ``rate`` is given), or to each match with probability ``rate``, drawn
    from the server's seeded generator and capped by ``times`` if set.

    Effects, in this order: ``latency`` seconds of delay; ``drop`` closes the
    connection without a response; ``status`` answers with that HTTP code (and
    ``Retry-After: retry_after``); ``executing`` makes the portal answer
    ``status: EXECUTING``; ``stall`` seconds of silence after the headers
    (before them for HEAD); ``truncate`` sends only that fraction of the body
    under the full Content-Length, then closes.
    """

    kind: str | tuple[str, ...] | None = None
    service: str | None = None
    uri: str | None = None
    times: int | None = None
    rate: float | None = None
    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    truncate: float | None = None
    short_body: float | None = None
    corrupt: bool = False
    stall: float | None = None
    executing: bool = False
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        kinds = (self.kind,) if isinstance(self.kind, str) else (self.kind or ())
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; expected {KINDS}")
        for name in ("truncate", "short_body"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"{name} is the fraction of the body sent, in [0, 1)")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate is a probability")

    @property
    def limit(self) -> int | None:
        if self.times is not None:
            return self.times
        return None if self.rate is not None else 1

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.hits >= self.limit

    def matches(self, kind: str, service: str | None, target: str) -> bool:
        if self.kind is not None:
            kinds = (self.kind,) if isinstance(self.kind, str) else self.kind
            if kind not in kinds:
                return False
        if self.service is not None and (service or "").lower() != self.service.lower():
            return False
        return self.uri is None or self.uri in target


class FaultSet:
    """Registered faults; picks the ones that apply to a request."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, kind: str, service: str | None, target: str) -> list[Fault]:
        """Faults applied to this request; their ``hits`` are counted here."""
        chosen = []
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(kind, service, target):
                    continue
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                fault.hits += 1
                chosen.append(fault)
        return chosen
