"""idiCORE people search: token flow, bounded concurrent searches, strict reply parsing.

Contract (DESIGN.md): login is POST with Basic auth and returns the token as plain text; searches send
`Authorization: <token>` (no "Bearer"), one person per call, every call billed. Tokens live ~15 min, so we
refresh at 12 min and on a 401 (once). `result` must be a list; anything else is an error, never "no phones".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
import httpx
import pybreaker
from aiolimiter import AsyncLimiter
from pydantic import Field
from tenacity import AsyncRetrying

from etl_platform.phones import normalise
from etl_platform.vendors.common import (
    BreakerOpen,
    BreakerSettings,
    ConfigurationError,
    PermanentError,
    RetryableError,
    RetrySettings,
    VendorError,
    VendorStats,
    as_vendor_error,
    classify_status,
    make_breaker,
    retry_kwargs,
)

log = logging.getLogger(__name__)

MAX_PHONES = 3
MAX_EMAILS = 3
TOKEN_REFRESH_SECONDS = 12 * 60


@dataclass(frozen=True)
class PersonQuery:
    lead_id: str
    first_name: str
    last_name: str
    address: str | None
    city: str | None
    state: str | None
    zip: str | None

    def body(self) -> dict:
        return {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "address": self.address or "",
            "city": self.city or "",
            "state": self.state or "",
            "zip": self.zip or "",
            "referenceId": self.lead_id,
            "fields": ["name", "phone", "email"],
        }


@dataclass(frozen=True)
class FoundPhone:
    phone: str  # normalised 10-digit NANP
    rank: int  # 1 = idiCORE's best
    type: str | None


@dataclass(frozen=True)
class SearchResult:
    lead_id: str
    status: str  # "found" | "no_match" | "rejected" (idiCORE refused this query) | "failed" (vendor trouble)
    phones: tuple[FoundPhone, ...] = ()
    emails: tuple[str, ...] = ()
    reason: str | None = None  # for "failed": a reason code for the dead-letter row
    dropped_disconnected: int = 0
    dropped_invalid: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("found", "no_match")


def parse_search_reply(lead_id: str, payload: object) -> SearchResult:
    """Turn a 200 reply into a SearchResult, or raise VendorError("bad_reply_...") if it breaks contract."""
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), list):
        raise RetryableError("bad_reply_no_result_list", "reply has no 'result' list")
    people = payload["result"]
    if not people:
        return SearchResult(lead_id, "no_match")
    best = people[0]
    if not isinstance(best, dict):
        raise RetryableError("bad_reply_person", "result[0] is not an object")
    raw_phones = best.get("phone") or []
    raw_emails = best.get("email") or []
    if not isinstance(raw_phones, list) or not isinstance(raw_emails, list):
        raise RetryableError("bad_reply_fields", "phone/email are not lists")

    ranked: list[tuple[float, int, FoundPhone]] = []
    disconnected = invalid = 0
    for position, entry in enumerate(raw_phones):
        if not isinstance(entry, dict):
            invalid += 1
            continue
        if entry.get("disconnected") is True:
            disconnected += 1
            continue
        normalised = normalise(entry.get("number"))
        if normalised.phone is None:
            invalid += 1
            continue
        rank = _rank(entry)
        ranked.append((rank, position, FoundPhone(normalised.phone, 0, entry.get("type"))))
    ranked.sort(key=lambda item: (item[0], item[1]))
    phones: list[FoundPhone] = []
    for _, _, found in ranked:
        if all(p.phone != found.phone for p in phones):
            phones.append(FoundPhone(found.phone, len(phones) + 1, found.type))
        if len(phones) == MAX_PHONES:
            break

    emails: list[tuple[float, int, str]] = []
    for position, entry in enumerate(raw_emails):
        if isinstance(entry, dict) and isinstance(entry.get("data"), str) and "@" in entry["data"]:
            emails.append((_rank(entry), position, entry["data"].strip().lower()))
    emails.sort(key=lambda item: (item[0], item[1]))
    unique_emails = list(dict.fromkeys(e for _, _, e in emails))[:MAX_EMAILS]
    return SearchResult(
        lead_id,
        "found",
        tuple(phones),
        tuple(unique_emails),
        dropped_disconnected=disconnected,
        dropped_invalid=invalid,
    )


def _rank(entry: dict) -> float:
    meta = entry.get("meta")
    rank = meta.get("rank") if isinstance(meta, dict) else None
    try:
        return float(rank)
    except (TypeError, ValueError):
        return float("inf")  # unranked entries go last


@dataclass
class IdiCoreClient:
    auth_url: str
    search_url: str
    client_id: str
    client_secret: str
    concurrency: int = 16
    rate_limit: float = 40.0  # searches per second, client side
    timeout: float = 10.0
    retry: RetrySettings = field(default_factory=RetrySettings)
    breaker_settings: BreakerSettings = field(default_factory=BreakerSettings)
    stats: VendorStats = field(default_factory=VendorStats)

    def __post_init__(self) -> None:
        self.breaker = make_breaker("idicore", self.breaker_settings, self.stats)
        self._token: str | None = None
        self._token_at = 0.0
        self._token_lock: asyncio.Lock | None = None
        self._pause_until = 0.0
        self._in_flight = 0

    # --- token ------------------------------------------------------------------------------------
    async def _login(self, http: httpx.AsyncClient) -> str:
        self.stats.logins += 1
        try:
            response = await http.post(
                self.auth_url,
                auth=(self.client_id, self.client_secret),
                json={"glba": "otheruse", "dppa": "none"},
            )
        except httpx.HTTPError as exc:
            raise as_vendor_error(exc) from None
        if response.status_code == 401:
            raise ConfigurationError("login_rejected", "idiCORE rejected the client id/secret (HTTP 401)")
        if err := classify_status(response):
            raise err
        token = response.text.strip()
        if not token or token.startswith("<") or " " in token:
            raise RetryableError("bad_login_reply", "idiCORE login did not return a token")
        return token

    async def _current_token(self, http: httpx.AsyncClient, stale: str | None = None) -> str:
        """One login for all concurrent searches; `stale` is a token a 401 just rejected."""
        assert self._token_lock is not None
        async with self._token_lock:
            expired = time.monotonic() - self._token_at > TOKEN_REFRESH_SECONDS
            if self._token is None or expired or (stale is not None and self._token == stale):
                self._token = await self._login(http)
                self._token_at = time.monotonic()
            return self._token

    # --- one search -------------------------------------------------------------------------------
    async def _post_search(self, http: httpx.AsyncClient, query: PersonQuery) -> SearchResult:
        token = await self._current_token(http)
        relogged = False
        while True:
            self.stats.calls += 1
            try:
                response = await http.post(self.search_url, json=query.body(), headers={"Authorization": token})
            except httpx.HTTPError as exc:
                raise as_vendor_error(exc) from None
            if response.status_code == 401:
                if relogged:
                    # A token minted a moment ago was refused: retry later, do not loop here.
                    raise RetryableError("http_401_after_relogin", "idiCORE refused a fresh token")
                # Token expired early or was revoked: log in again (once, shared) and retry once.
                self.stats.relogins += 1
                relogged = True
                token = await self._current_token(http, stale=token)
                continue
            if response.status_code == 400:
                code = _error_code(response)
                raise PermanentError(f"idicore_{code}", f"idiCORE refused the query: {code}")
            if response.status_code == 403:
                raise ConfigurationError("http_403", "idiCORE answered 403: this IP is not allow-listed")
            if err := classify_status(response):
                if err.kind == "http_429":
                    # Everyone pauses, not just this worker: the quota is shared.
                    self._pause_until = max(self._pause_until, time.monotonic() + (err.retry_after or 1.0))
                raise err
            try:
                payload = response.json()
            except ValueError:
                raise RetryableError("bad_reply_not_json", "idiCORE reply is not JSON") from None
            return parse_search_reply(query.lead_id, payload)

    async def _search(
        self, http: httpx.AsyncClient, limiter: AsyncLimiter, gate: asyncio.Semaphore, query: PersonQuery
    ) -> SearchResult:
        def on_retry(state) -> None:
            self.stats.retries += 1

        try:
            async for attempt in AsyncRetrying(**retry_kwargs(self.retry, on_retry)):
                with attempt:
                    async with gate:
                        pause = self._pause_until - time.monotonic()
                        if pause > 0:
                            await asyncio.sleep(pause)
                        async with limiter:
                            self._in_flight += 1
                            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
                            try:
                                with self.breaker.calling():
                                    return await self._post_search(http, query)
                            except pybreaker.CircuitBreakerError:
                                self.stats.note_breaker_rejection()
                                raise BreakerOpen("breaker_open", "idiCORE circuit breaker is open") from None
                            except VendorError as err:
                                self.stats.note_error(err)
                                raise
                            finally:
                                self._in_flight -= 1
        except ConfigurationError:
            raise
        except PermanentError as err:
            return SearchResult(query.lead_id, "rejected", reason=err.kind)
        except VendorError as err:
            self.stats.failed_calls += 1
            return SearchResult(query.lead_id, "failed", reason=err.kind)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def search_many(self, queries: Sequence[PersonQuery]) -> list[SearchResult]:
        """Search every query; each result is found, no_match or failed (with a reason). Configuration
        errors (bad credentials, 403) abort the whole batch: no search can succeed."""
        self._token_lock = asyncio.Lock()
        limiter = AsyncLimiter(self.rate_limit, 1.0)
        gate = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        results: list[SearchResult | None] = [None] * len(queries)
        pending = iter(enumerate(queries))

        async def worker() -> None:
            for index, query in pending:  # one shared iterator: each query is taken exactly once
                results[index] = await self._search(http, limiter, gate, query)

        # A bounded set of workers, not a task per query: 100,000 waiting tasks cost ~1 GB and most of
        # the client's CPU in scheduling. Twice the concurrency, so workers sleeping in a retry back-off
        # (outside the gate) do not starve the vendor of requests.
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as http:
            workers = [asyncio.ensure_future(worker()) for _ in range(min(len(queries), 2 * self.concurrency))]
            try:
                await asyncio.gather(*workers)
            except BaseException:
                for task in workers:
                    task.cancel()
                raise
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:  # cannot happen unless a worker died silently; never report a search as done
            raise RuntimeError(f"{len(missing)} idiCORE searches were never run")
        return results  # type: ignore[return-value]

    def login_only(self) -> None:
        """Prove credentials without a billed search (health checks)."""

        async def go() -> None:
            self._token_lock = asyncio.Lock()
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                await self._current_token(http)

        asyncio.run(go())


def _error_code(response: httpx.Response) -> str:
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        code = None
    return str(code) if code else "BadRequest"


class IdiCoreResource(dg.ConfigurableResource):
    """idiCORE, configured from IDICORE_* environment variables."""

    auth_url: str
    search_url: str
    client_id: str
    client_secret: str
    concurrency: int = Field(default=16, description="searches in flight at once")
    rate_limit: float = Field(default=40.0, description="searches per second, client side")
    timeout_seconds: float = 10.0
    max_attempts: int = 5
    max_retry_seconds: float = 60.0
    backoff_initial_seconds: float = 0.5
    breaker_fail_max: int = 10
    breaker_reset_seconds: float = 30.0

    def client(self) -> IdiCoreClient:
        return IdiCoreClient(
            auth_url=self.auth_url,
            search_url=self.search_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            concurrency=self.concurrency,
            rate_limit=self.rate_limit,
            timeout=self.timeout_seconds,
            retry=RetrySettings(
                max_attempts=self.max_attempts,
                max_seconds=self.max_retry_seconds,
                backoff_initial=self.backoff_initial_seconds,
            ),
            breaker_settings=BreakerSettings(self.breaker_fail_max, self.breaker_reset_seconds),
        )
