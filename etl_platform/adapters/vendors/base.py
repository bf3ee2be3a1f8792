"""What the vendor clients share: error types, the retry policy (tenacity), the circuit breaker (pybreaker),
per-stage counters, and `VendorClient`, the base that wires them around every call."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import aiohttp
import httpx
import pybreaker
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from etl_platform.core.settings import VendorCallPolicy


class VendorError(Exception):
    """A vendor call failed. `kind` is a short reason code safe to store and log (no PII, no secrets).
    `bad_retry_after`: the reply carried a Retry-After no reading of which gives a pause (counted apart)."""

    def __init__(
        self, kind: str, message: str | None = None, retry_after: float | None = None, bad_retry_after: bool = False
    ):
        super().__init__(message or kind)
        self.kind = kind
        self.retry_after = retry_after
        self.bad_retry_after = bad_retry_after


class RetryableError(VendorError):
    """Timeouts, dropped connections, 429 and 5xx: worth another attempt after a pause."""


class PermanentError(VendorError):
    """A reply that will not change on retry for this input (400 TooManyMatches, a rejected number)."""


class BreakerOpen(VendorError):
    """The vendor's circuit breaker is open: fail fast instead of adding load to a vendor that is down."""


class ConfigurationError(VendorError):
    """Credentials, allow-listing or URL are wrong: no retry helps, the run must stop and say so."""


# The longest pause a Retry-After is honoured for: the client's own wait between attempts is capped at
# 3 x RetrySettings.backoff_max (30 s), and the idiCORE pacer pauses every worker for it. A vendor asking for
# an hour gets 30 s and then another 429, and the call fails as rate limited once its retries are spent.
MAX_RETRY_AFTER_SECONDS = 30.0
_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")  # RFC 9110 delay-seconds (a fraction tolerated)


class UnreadableRetryAfter(ValueError):
    """A Retry-After that is neither delay-seconds nor an HTTP-date (nor a list of delay-seconds)."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """The pause a Retry-After asks for, in [0, MAX_RETRY_AFTER_SECONDS]; None when there is none.

    Delay-seconds or an HTTP-date (one in the past is 0). Several headers, or one joined with commas
    ("5, 10"), are read as the longest delay they name. Anything else (negative, "inf", garbage, text) raises
    UnreadableRetryAfter: the reply's status still says what happened, the pause falls back to the backoff."""
    text = (value or "").strip()
    if not text:
        return None
    if _DELAY_SECONDS.fullmatch(text):
        return _capped(float(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is not None:
        if when.tzinfo is None:  # "-0000" gives a naive datetime: HTTP-dates are always UTC
            when = when.replace(tzinfo=dt.UTC)
        return _capped(when.timestamp() - (time.time() if now is None else now))
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 1 and all(_DELAY_SECONDS.fullmatch(part) for part in parts):
        return _capped(max(float(part) for part in parts))
    raise UnreadableRetryAfter("Retry-After is neither delay-seconds nor an HTTP-date")


def _capped(seconds: float) -> float:
    # only digits reach here ("inf" and "nan" are not delay-seconds): 400 of them are float inf, capped too
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


def _retry_after(headers: Mapping[str, str]) -> tuple[float | None, bool]:
    """(pause, unreadable) from a reply's Retry-After header(s): aiohttp's headers keep repeated ones apart
    (`getall`), httpx's `get` joins them with commas."""
    getall = getattr(headers, "getall", None)
    values = getall("retry-after", []) if callable(getall) else [headers.get("retry-after") or ""]
    try:
        return parse_retry_after(", ".join(v for v in values if v)), False
    except UnreadableRetryAfter:
        return None, True


def classify_status(response: httpx.Response) -> VendorError | None:
    """Map an httpx response's status to the error the clients raise; None for 2xx."""
    return classify(response.status_code, response.headers, response.request.url.host)


def classify(status: int, headers: Mapping[str, str], host: str) -> VendorError | None:
    """Map an HTTP status to the error the clients raise; None for 2xx (any HTTP library's reply)."""
    if 200 <= status < 300:
        return None
    if status == 429 or status >= 500:
        pause, unreadable = _retry_after(headers)
        if status == 429:
            return RetryableError("http_429", "rate limited", pause, bad_retry_after=unreadable)
        return RetryableError(f"http_{status}", f"server error {status}", pause, bad_retry_after=unreadable)
    if status in (401, 403, 404):
        return ConfigurationError(f"http_{status}", f"HTTP {status} from {host}")
    if status < 200 or 300 <= status < 400:
        # A redirect (or an informational status as the final reply) is not an answer: the URL is wrong
        # (http for https, a moved endpoint), and retrying or splitting the request cannot help.
        return ConfigurationError(f"http_{status}", f"HTTP {status} from {host}: check the URL")
    return PermanentError(f"http_{status}", f"HTTP {status}")


def as_vendor_error(exc: BaseException) -> VendorError:
    """A transport failure of either HTTP library the clients use (httpx for CCC and alerts, aiohttp for
    idiCORE's high-volume searches) as a RetryableError; anything else is a bug and propagates."""
    if isinstance(exc, VendorError):
        return exc
    # aiohttp's ServerTimeoutError is both a ClientError and a TimeoutError: a timeout, checked first.
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError):
        return RetryableError("timeout", type(exc).__name__)
    if isinstance(exc, httpx.TransportError | aiohttp.ClientError):
        return RetryableError("connection", type(exc).__name__)
    if isinstance(exc, httpx.DecodingError):
        # A body its Content-Encoding does not describe (gzip that is not gzip): httpx raises it while
        # reading the reply, outside its TransportError family. aiohttp's equivalent is a ClientPayloadError.
        return RetryableError("bad_reply_encoding", type(exc).__name__)
    raise exc


class DuplicateMember(ValueError):
    """A JSON object names a member twice."""


def _unique_members(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise DuplicateMember("a JSON object names a member twice")
    return obj


def loads_reply(body: bytes, vendor: str) -> object:
    """A reply body's JSON, or RetryableError: not JSON ("bad_reply_not_json": not UTF-8/-16/-32, truncated,
    nested past what the parser follows), or an object that names a member twice ("bad_reply_duplicate_key").
    json keeps the last of repeated names, so `{"IsLitigator": true, "IsLitigator": false}` read as clear and
    a second `"result"` replaced the first person: a reply that says two things vouches for neither."""
    try:
        return json.loads(body, object_pairs_hook=_unique_members)  # JSON names its own encoding
    except DuplicateMember:
        raise RetryableError("bad_reply_duplicate_key", f"{vendor} reply names a member twice") from None
    except (ValueError, RecursionError):  # ValueError includes a body that is not UTF-8
        raise RetryableError("bad_reply_not_json", f"{vendor} reply is not JSON") from None


def too_large(limit: int) -> RetryableError:
    return RetryableError("bad_reply_too_large", f"reply larger than {limit} bytes")


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """An aiohttp reply's body, at most `limit` bytes, or RetryableError("bad_reply_too_large"): a reply
    many times any the contract describes is not one, and reading it whole would only spend memory. A
    declared length is checked before reading (aiohttp's own read keeps the client's CPU per search low).
    A compressed reply's declared length is that of the compressed bytes, not of the body aiohttp decodes
    from them (17 MiB of gzip is ~17 kB): it is counted as it is read instead."""
    length = response.content_length
    encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
    if length is not None and not encoded:
        if length > limit:
            raise too_large(limit)
        return await response.read()
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def read_capped_sync(response: httpx.Response, limit: int) -> bytes:
    """The same for a streamed httpx reply (decoded per its Content-Encoding)."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class RetrySettings:
    """Per-call retries (the values come from core.settings.Settings through VendorCallPolicy)."""

    max_attempts: int
    max_seconds: float
    backoff_initial: float
    backoff_max: float = 10.0  # cap of one back-off pause (a Retry-After may ask for up to 3x this)


def wait_for(settings: RetrySettings) -> Callable[[RetryCallState], float]:
    """Exponential backoff with jitter, but never shorter than the vendor's Retry-After."""
    backoff = wait_exponential_jitter(initial=settings.backoff_initial, max=settings.backoff_max)

    def wait(state: RetryCallState) -> float:
        pause = backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, VendorError) and exc.retry_after is not None:
            pause = max(pause, min(exc.retry_after, settings.backoff_max * 3))
        return pause

    return wait


def retry_kwargs(settings: RetrySettings, on_retry: Callable[[RetryCallState], None]) -> dict:
    return dict(
        retry=retry_if_exception(lambda e: isinstance(e, RetryableError)),
        wait=wait_for(settings),
        stop=stop_after_attempt(settings.max_attempts) | stop_after_delay(settings.max_seconds),
        before_sleep=on_retry,
        reraise=True,
    )


@dataclass
class VendorStats:
    """Counters a stage records in its materialization metadata."""

    calls: int = 0
    retries: int = 0
    http_429: int = 0
    timeouts: int = 0
    connection_errors: int = 0
    server_errors: int = 0
    bad_replies: int = 0
    failed_calls: int = 0
    relogins: int = 0
    breaker_openings: int = 0
    breaker_rejections: int = 0
    bad_retry_after: int = 0  # replies whose Retry-After could not be read (the backoff was used instead)
    logins: int = 0
    max_in_flight: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def note_error(self, err: VendorError) -> None:
        self.errors[err.kind] = self.errors.get(err.kind, 0) + 1
        if err.bad_retry_after:
            self.bad_retry_after += 1
        if err.kind == "http_429":
            self.http_429 += 1
        elif err.kind == "timeout":
            self.timeouts += 1
        elif err.kind == "connection":
            self.connection_errors += 1
        elif err.kind.startswith("http_5"):
            self.server_errors += 1
        elif err.kind.startswith("bad_reply"):
            self.bad_replies += 1

    def note_breaker_rejection(self) -> None:
        self.breaker_rejections += 1
        self.errors["breaker_open"] = self.errors.get("breaker_open", 0) + 1

    def error_summary(self) -> str:
        """The failed calls by kind, for a failure message: "188 breaker_open, 17 http_503"."""
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.errors.items())) or "no answer"

    def as_metadata(self, prefix: str) -> dict[str, int]:
        flat = {k: v for k, v in asdict(self).items() if k != "errors"}
        flat.update({f"error_{k}": v for k, v in self.errors.items()})
        return {f"{prefix}_{k}": int(v) for k, v in flat.items()}


@dataclass(frozen=True)
class BreakerSettings:
    fail_max: int  # consecutive failed calls that open the breaker
    reset_seconds: float  # how long it stays open before letting one probe through


class _CountOpenings(pybreaker.CircuitBreakerListener):
    def __init__(self, stats: VendorStats):
        self.stats = stats

    def state_change(self, cb, old_state, new_state) -> None:
        if new_state is not None and new_state.name == pybreaker.STATE_OPEN:
            self.stats.breaker_openings += 1


def make_breaker(name: str, settings: BreakerSettings, stats: VendorStats) -> pybreaker.CircuitBreaker:
    """A per-vendor breaker (pybreaker). Only transient vendor failures count towards opening it: a refused
    query or a bad number says nothing about the vendor's health, and a 429 is the vendor asking us to slow
    down (the client pauses and paces itself slower), not a sign that it is down."""
    return pybreaker.CircuitBreaker(
        fail_max=settings.fail_max,
        reset_timeout=settings.reset_seconds,
        exclude=[lambda exc: not isinstance(exc, RetryableError) or exc.kind == "http_429"],
        listeners=[_CountOpenings(stats)],
        name=name,
        throw_new_error_on_trip=False,
    )


class VendorClient:
    """The plumbing every vendor client shares: its counters, its breaker, and `attempts()`/`guarded()`.

    A call is `for attempt in self.attempts(): with attempt, self.guarded(): <one HTTP exchange>`: tenacity
    retries RetryableErrors with backoff (at least the vendor's Retry-After); the breaker refuses calls
    while open; every VendorError is counted by kind before it propagates."""

    vendor: str  # "idicore" | "ccc": the breaker's name and the metadata prefix

    def __init__(self, policy: VendorCallPolicy):
        self.policy = policy
        self.timeout = policy.timeout_seconds
        self.retry = RetrySettings(
            max_attempts=policy.max_attempts,
            max_seconds=policy.max_retry_seconds,
            backoff_initial=policy.backoff_initial_seconds,
        )
        self.stats = VendorStats()
        self.breaker = make_breaker(
            self.vendor, BreakerSettings(policy.breaker_fail_max, policy.breaker_reset_seconds), self.stats
        )

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    def attempts(self) -> Retrying:
        return Retrying(**retry_kwargs(self.retry, self._count_retry))

    def async_attempts(self) -> AsyncRetrying:
        return AsyncRetrying(**retry_kwargs(self.retry, self._count_retry))

    @contextmanager
    def guarded(self) -> Iterator[None]:
        """One call through the breaker: refused fast while it is open; errors counted by kind."""
        try:
            with self.breaker.calling():
                yield
        except pybreaker.CircuitBreakerError:
            self.stats.note_breaker_rejection()
            raise BreakerOpen("breaker_open", f"{self.vendor} circuit breaker is open") from None
        except VendorError as err:
            self.stats.note_error(err)
            raise

    def metadata(self) -> dict[str, int]:
        return self.stats.as_metadata(self.vendor)
