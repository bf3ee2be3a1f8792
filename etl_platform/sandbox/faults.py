"""Latency, rate limits and faults a sandbox server applies, switchable at start-up or at run time."""

from __future__ import annotations

import asyncio
import collections
import random
import threading
import time
from dataclasses import dataclass, field

# Named profiles for `etl-platform sandbox start --profile NAME` and the run command.
PROFILES: dict[str, dict[str, float]] = {
    "none": {},
    "realistic": {},
    "flaky": {"429": 0.05, "500": 0.03, "503": 0.02, "slow": 0.01},
    "hostile": {"429": 0.1, "500": 0.05, "html": 0.03, "malformed": 0.03, "missing_phone": 0.05},
    "down": {"503": 1.0},
}
FAULT_KINDS = (
    "429",
    "500",
    "503",
    "slow",
    "drop",
    "malformed",
    "html",
    "missing_phone",
    "token_expiry",
    "too_many_matches",
    # replies in unusual but possible forms (http_common.transport_fault)
    "retry_after_garbage",  # 429 whose Retry-After is neither seconds nor an HTTP-date
    "retry_after_date",  # 429 whose Retry-After is an HTTP-date one second ahead
    "not_utf8",  # 200 "application/json" whose bytes are not UTF-8
    "bad_encoding",  # 200 that says Content-Encoding: gzip over a body that is not gzip
    "huge_reply",  # 200 of 17 MiB with its Content-Length: past both clients' reply caps
    "huge_reply_chunked",  # the same, chunked (no Content-Length: the client must count as it reads)
    "huge_reply_gzip",  # the same, gzip-compressed to ~17 kB with that Content-Length: past the caps decoded
    "400_plain",  # 400 with a plain-text body, not the vendor's error object (a proxy's refusal)
    "405",  # a gateway that refuses the method: nothing to do with the request's content
    # idiCORE login replies (a 200 that carries no usable token); rolled by the login, not the searches
    "login_html",  # a login page
    "login_json",  # the token wrapped in a JSON object instead of plain text
    "login_line_break",  # a token with a line break inside (a header the HTTP library refuses to send)
)
LOGIN_FAULT_KINDS = frozenset({"login_html", "login_json", "login_line_break"})


def parse_faults(spec: str | None) -> dict[str, float]:
    """`"flaky"` or `"429=0.1,html=0.02"` -> {kind: share}."""
    if not spec:
        return {}
    if spec in PROFILES:
        return dict(PROFILES[spec])
    faults: dict[str, float] = {}
    for part in spec.split(","):
        kind, _, share = part.strip().partition("=")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        faults[kind] = float(share or 1.0)
    return faults


class TokenBucket:
    """Server-side rate limit: `rate` requests per second with a one-second burst."""

    def __init__(self, rate: float | None):
        self.rate = rate
        self.tokens = rate or 0.0
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when allowed, else the seconds until a token is available (for Retry-After)."""
        if not self.rate:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class SlidingWindow:
    """Server-side rate limit as a strict vendor enforces it: at most `rate` accepted requests in any
    one-second window (no burst allowance). Refused requests do not count."""

    def __init__(self, rate: float | None):
        self.rate = rate
        self.accepted: collections.deque[float] = collections.deque()
        self.arrived: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()
        self.peak = 0  # the most requests accepted within one second (stats)
        self.arrival_peak = 0  # the most requests that arrived within one second, refused ones included

    def take(self) -> float:
        """0 when allowed, else the seconds until the window has room (for Retry-After)."""
        if not self.rate:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self.arrived.append(now)
            while self.arrived[0] <= now - 1.0:
                self.arrived.popleft()
            self.arrival_peak = max(self.arrival_peak, len(self.arrived))
            while self.accepted and self.accepted[0] <= now - 1.0:
                self.accepted.popleft()
            if len(self.accepted) >= self.rate:
                return self.accepted[0] + 1.0 - now
            self.accepted.append(now)
            self.peak = max(self.peak, len(self.accepted))
            return 0.0


RATE_MODES = ("bucket", "window")


@dataclass
class Behaviour:
    latency_ms: float = 0.0
    rate_limit: float | None = None  # requests per second; None = unlimited
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 7
    slow_seconds: float = 30.0  # how long a "slow" reply hangs: beyond any sane client timeout
    # At most this many faults are injected (None: no limit), e.g. 2 with {"500": 1.0}: the first two
    # requests fail, the rest succeed; a client with retries must then ride them out, deterministically.
    fault_limit: int | None = None
    # Faults start only after this many requests were served cleanly (None: from the first), e.g. a vendor
    # that goes down in the middle of a day.
    fault_after: int | None = None
    # "bucket": a token bucket that allows a one-second burst; "window": a strict sliding one-second window
    # (at most rate_limit accepted requests in any second), as some vendors enforce it
    rate_mode: str = "bucket"

    def __post_init__(self) -> None:
        if self.rate_mode not in RATE_MODES:
            raise ValueError(f"rate_mode must be one of {RATE_MODES}, got {self.rate_mode!r}")
        self.rng = random.Random(self.seed)
        self.bucket = TokenBucket(self.rate_limit) if self.rate_mode == "bucket" else SlidingWindow(self.rate_limit)
        self.lock = threading.Lock()
        self.faults_injected = 0
        self.rolled = 0

    def update(self, **changes: object) -> None:
        for key, value in changes.items():
            if key == "faults" and isinstance(value, str):
                value = parse_faults(value)
            setattr(self, key, value)
        self.__post_init__()

    def roll(self, login: bool = False) -> str | None:
        """The fault to inject in this request, if any (deterministic in sequence for a seed). A login rolls
        only among the login faults, and only when one is set (logins do not count towards `fault_after`
        otherwise); other requests roll among the rest."""
        faults = {k: v for k, v in self.faults.items() if (k in LOGIN_FAULT_KINDS) == login}
        if login and not faults:
            return None
        with self.lock:
            self.rolled += 1
            if self.fault_after is not None and self.rolled <= self.fault_after:
                return None
            if self.fault_limit is not None and self.faults_injected >= self.fault_limit:
                return None
            draw = self.rng.random()
            acc = 0.0
            for kind, share in faults.items():
                acc += share
                if draw < acc:
                    self.faults_injected += 1
                    return kind
        return None

    async def delay(self) -> None:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)

    def as_dict(self) -> dict:
        return {
            "latency_ms": self.latency_ms,
            "rate_limit": self.rate_limit,
            "rate_mode": self.rate_mode,
            "peak_per_second": getattr(self.bucket, "peak", None),
            "arrival_peak_per_second": getattr(self.bucket, "arrival_peak", None),
            "faults": self.faults,
            "fault_limit": self.fault_limit,
            "fault_after": self.fault_after,
            "faults_injected": self.faults_injected,
            "seed": self.seed,
        }
