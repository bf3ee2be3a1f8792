"""idiCORE people search: token flow, bounded concurrent searches, strict reply parsing.

Contract (DESIGN.md): login is POST with Basic auth and returns the token as plain text; searches send
`Authorization: <token>` (no "Bearer"), one person per call, every call billed. Tokens live ~15 min, so we
refresh at 12 min and on a 401 (once). `result` must be a list; anything else is an error, never "no phones".

HTTP is aiohttp, not httpx as for CCC: one search per call makes this the only high-volume client, and
aiohttp costs ~0.24 ms of client CPU per request here against httpx's ~1.23 ms (bench client, "HTTP stack"
figures), which is what lets one core drive well over 1,000 searches/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp

from etl_platform.adapters.vendors.base import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    VendorClient,
    VendorError,
    as_vendor_error,
    classify,
    loads_reply,
    read_capped,
)
from etl_platform.adapters.vendors.pacing import AdaptivePacer
from etl_platform.core.contacts import MAX_EMAILS, MAX_PHONES, FoundPhone, PersonQuery, SearchResult
from etl_platform.core.phones import normalise
from etl_platform.core.settings import VendorCallPolicy
from etl_platform.core.stages import LEAD_CONTACTS
from etl_platform.core.vendor_failures import is_vendor_failure

TOKEN_REFRESH_SECONDS = 12 * 60
MAX_TOKEN_TRIES = 3  # a search sent with at most this many tokens before its attempt fails


def search_body(query: PersonQuery) -> dict:
    """The search request in idiCORE's camelCase; `referenceId` ties a billed search to its lead."""
    return {
        "firstName": query.first_name,
        "lastName": query.last_name,
        "address": query.address or "",
        "city": query.city or "",
        "state": query.state or "",
        "zip": query.zip or "",
        "referenceId": query.lead_id,
        "fields": ["name", "phone", "email"],
    }


# A person's reply is a few kB (a thousand phones would be ~200 kB): anything past this is not a reply.
MAX_REPLY_BYTES = 4 * 1024 * 1024
MAX_TOKEN_CHARS = 4096  # a token is sent as a header on every search: a page of text is not one
_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a header value can carry (no spaces, no line breaks)


def parse_login_reply(body: bytes, content_type: str = "") -> str:
    """The token from a 200 login reply: the body as plain text, surrounding whitespace (a trailing newline)
    taken off. Anything else is a RetryableError("bad_reply_login_..."), never a token: a login page or a
    JSON object sent as `Authorization` would make every search fail as a refused query (400), blamed on
    the leads, and a line break in it makes the HTTP library refuse to send the header at all."""
    try:
        token = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise RetryableError("bad_reply_login_token", "idiCORE login reply is not text") from None
    if not token:
        raise RetryableError("bad_reply_login_empty", "idiCORE login reply is empty")
    if "html" in content_type.lower() or token.startswith("<"):
        raise RetryableError("bad_reply_login_html", "idiCORE login answered with an HTML page, not a token")
    if token[0] in '{["':
        raise RetryableError("bad_reply_login_json", "idiCORE login answered JSON, not a plain-text token")
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
        raise RetryableError("bad_reply_login_token", "idiCORE login reply is not a token")
    return token


def search_payload(body: bytes, content_type: str = "") -> object:
    """The JSON of a 200 search reply, or RetryableError: an HTML page (a proxy's or a login page, whatever
    its Content-Type says), and a body that is not JSON (empty, truncated, not UTF-8, nested past what the
    parser can follow, an object naming a member twice) are bad replies of their own kinds."""
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise RetryableError("bad_reply_html", "idiCORE answered with an HTML page")
    return loads_reply(body, "idiCORE")


def parse_search_reply(lead_id: str, payload: object) -> SearchResult:
    """Turn a 200 reply into a SearchResult, or raise VendorError("bad_reply_...") if it breaks contract.

    Strict on purpose: a reply the parser cannot read whole is an error of a named kind (retried, then the
    lead fails, never cached), never a partial "found" or "no phones". Absent optional fields (`meta`, `rank`,
    the dates, `type`, `disconnected`) are fine; present ones of the wrong type are not. A number that is a
    string but not a callable NANP number is the data's problem, not the reply's: dropped and counted."""
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), list):
        raise RetryableError("bad_reply_no_result_list", "reply has no 'result' list")
    people = payload["result"]
    if not people:
        return SearchResult(lead_id, "no_match")
    best = people[0]
    if not isinstance(best, dict):
        raise RetryableError("bad_reply_person", "result[0] is not an object")
    # Absent: the person has none. Present, it must be a list: `"phone": null` is not "no phones".
    raw_phones = best.get("phone", [])
    raw_emails = best.get("email", [])
    if not isinstance(raw_phones, list) or not isinstance(raw_emails, list):
        raise RetryableError("bad_reply_fields", "phone/email are not lists")

    ranked: list[tuple[float, int, FoundPhone]] = []
    disconnected = invalid = 0
    cut_off: set[str] = set()  # the numbers some entry calls disconnected
    for position, entry in enumerate(raw_phones):
        if not isinstance(entry, dict):
            raise RetryableError("bad_reply_phone_entry", "a phone entry is not an object")
        rank = _rank(entry)
        _check_dates(entry)
        flag = entry.get("disconnected")
        if flag is not None and not isinstance(flag, bool):
            raise RetryableError("bad_reply_disconnected", "a phone's 'disconnected' is not a boolean")
        number, kind = entry.get("number"), entry.get("type")
        if not isinstance(number, str):
            raise RetryableError("bad_reply_phone_number", "a phone's 'number' is not a string")
        if kind is not None and not isinstance(kind, str):
            raise RetryableError("bad_reply_phone_type", "a phone's 'type' is not a string")
        normalised = normalise(number)
        if flag is True:  # only JSON true drops a number; false or absent keeps it
            disconnected += 1
            if normalised.phone is not None:
                cut_off.add(normalised.phone)
            continue
        if normalised.phone is None:
            invalid += 1
            continue
        ranked.append((rank, position, FoundPhone(normalised.phone, 0, kind)))
    # A number one entry calls disconnected may have been given to someone else since: its twins (the same
    # number punctuated otherwise, listed again) do not bring it back, whatever their order or flag.
    disconnected += sum(1 for _, _, found in ranked if found.phone in cut_off)
    ranked = [item for item in ranked if item[2].phone not in cut_off]
    ranked.sort(key=lambda item: (item[0], item[1]))
    phones: list[FoundPhone] = []
    for _, _, found in ranked:
        if all(p.phone != found.phone for p in phones):
            phones.append(FoundPhone(found.phone, len(phones) + 1, found.type))
        if len(phones) == MAX_PHONES:
            break

    emails: list[tuple[float, int, str]] = []
    for position, entry in enumerate(raw_emails):
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), str):
            raise RetryableError("bad_reply_email_entry", "an e-mail entry is not an object with a string 'data'")
        rank = _rank(entry)
        if "@" in entry["data"]:
            emails.append((rank, position, entry["data"].strip().lower()))
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


def _meta(entry: dict) -> dict:
    meta = entry.get("meta")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise RetryableError("bad_reply_meta", "an entry's 'meta' is not an object")
    return meta


def _rank(entry: dict) -> float:
    """meta.rank (ascending is best); an entry without one goes last. A rank that is there but not a finite
    number (a string, a boolean, NaN) is an error: sorting by it would pick the phones at random."""
    rank = _meta(entry).get("rank")
    if rank is None:
        return float("inf")
    try:
        value = float(rank) if isinstance(rank, int | float) and not isinstance(rank, bool) else math.nan
    except OverflowError:  # an integer of hundreds of digits (JSON allows it): no float holds it
        value = math.nan
    if not math.isfinite(value):
        raise RetryableError("bad_reply_rank", "an entry's meta.rank is not a number")
    return value


def _check_dates(entry: dict) -> None:
    """meta.firstSeen/lastSeen are YYYYMMDD numbers. Not used here, but one that is something else says the
    reply is not the one the contract describes. No calendar check: a broker's 20150000 (month unknown)
    is still a date of the documented shape."""
    meta = _meta(entry)
    for key in ("firstSeen", "lastSeen"):
        value = meta.get(key)
        if value is None:
            continue
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not (len(text) == 8 and text.isascii() and text.isdigit()):
            raise RetryableError("bad_reply_dates", f"a phone's meta.{key} is not a YYYYMMDD date")


class IdiCoreClient(VendorClient):
    vendor = LEAD_CONTACTS.vendor

    def __init__(
        self,
        *,
        auth_url: str,
        search_url: str,
        client_id: str,
        client_secret: str,
        concurrency: int,
        rate_limit: float,
        policy: VendorCallPolicy,
    ):
        super().__init__(policy)
        self.auth_url, self.search_url = auth_url, search_url
        self.client_id, self.client_secret = client_id, client_secret
        self.concurrency = concurrency
        self.rate_limit = rate_limit  # searches per second, client side
        self._token: str | None = None
        self._token_at = 0.0
        self._token_lock: asyncio.Lock | None = None
        self.pacer: AdaptivePacer | None = None  # made per batch of searches, on its event loop
        self._in_flight = 0

    # --- token ------------------------------------------------------------------------------------
    async def _login(self, http: aiohttp.ClientSession) -> str:
        self.stats.logins += 1
        try:
            async with http.post(
                self.auth_url,
                auth=aiohttp.BasicAuth(self.client_id, self.client_secret),
                json={"glba": "otheruse", "dppa": "none"},
                allow_redirects=False,  # a redirect is no answer (classify: the URL is wrong), as for searches
            ) as response:
                status, headers, body = response.status, response.headers, await read_capped(response, MAX_REPLY_BYTES)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise as_vendor_error(exc) from None
        if status == 401:
            raise ConfigurationError("login_rejected", "idiCORE rejected the client id/secret (HTTP 401)")
        if err := classify(status, headers, _host(self.auth_url)):
            if isinstance(err, PermanentError):
                # A login refused as a request (400, 405, 422): no search can run, and retrying will not
                # change it; the run stops and says where to look, as for refused credentials.
                raise ConfigurationError(err.kind, f"idiCORE login answered {err}: check IDICORE_AUTH_URL")
            raise err
        return parse_login_reply(body, headers.get("content-type", ""))

    async def _current_token(self, http: aiohttp.ClientSession, stale: str | None = None) -> str:
        """One login for all concurrent searches. `stale` is a token a 401 just rejected: when another worker
        has already replaced it, its replacement is returned, so a revoked token costs one login, not one per
        search that was in flight with it."""
        assert self._token_lock is not None
        async with self._token_lock:
            expired = time.monotonic() - self._token_at > TOKEN_REFRESH_SECONDS
            if self._token is None or expired or (stale is not None and self._token == stale):
                if stale is not None and self._token == stale:
                    self.stats.relogins += 1
                self._token = await self._login(http)
                self._token_at = time.monotonic()
            return self._token

    # --- one search -------------------------------------------------------------------------------
    async def _post_search(self, http: aiohttp.ClientSession, query: PersonQuery, granted: float) -> SearchResult:
        token = await self._current_token(http)
        for tries_left in range(MAX_TOKEN_TRIES - 1, -1, -1):
            self.stats.calls += 1
            try:
                async with http.post(
                    self.search_url,
                    json=search_body(query),
                    headers={"Authorization": token},
                    trace_request_ctx=_Paced(granted),  # _session's hook tells the pacer when it is written
                    # aiohttp follows a 301/302/303 by sending the search again as a GET, and whatever the
                    # page there answers ({"result": []} is "no match") was taken as idiCORE's reply.
                    allow_redirects=False,
                ) as response:
                    status, headers, body = (
                        response.status,
                        response.headers,
                        await read_capped(response, MAX_REPLY_BYTES),
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise as_vendor_error(exc) from None
            if status == 401:
                # The token expired early or was revoked: take the current one (logging in again only if no
                # other worker has yet) and repeat the search in the next paced slot (the refused call
                # counted against the vendor's limit too); no login for a try that will not come.
                if tries_left:
                    token = await self._current_token(http, stale=token)
                    if self.pacer is not None:
                        granted = await self.pacer.wait()
                continue
            if status == 400:
                if (code := _error_code(body)) is None:
                    # Not idiCORE's error object (a proxy's page, a body we cannot read): nothing says the
                    # query was refused, so it is a failed call, counted, never the lead's problem.
                    raise PermanentError("bad_reply_400", "idiCORE answered 400 without an error code")
                raise PermanentError(f"idicore_{code}", f"idiCORE refused the query: {code}")
            if status == 403:
                raise ConfigurationError("http_403", "idiCORE answered 403: this IP is not allow-listed")
            if err := classify(status, headers, _host(self.search_url)):
                if err.kind == "http_429" and self.pacer is not None:
                    # The quota is shared: every worker pauses for Retry-After (a repeated wave also slows).
                    self.pacer.rate_limited(err.retry_after)
                raise err
            return parse_search_reply(query.lead_id, search_payload(body, headers.get("content-type", "")))
        # Fresh tokens refused again and again: retry later (with backoff), do not loop here.
        raise RetryableError("http_401_after_relogin", "idiCORE refused fresh tokens")

    async def _search(
        self, http: aiohttp.ClientSession, pacer: AdaptivePacer, gate: asyncio.Semaphore, query: PersonQuery
    ) -> SearchResult:
        try:
            async for attempt in self.async_attempts():
                with attempt:
                    async with gate:
                        granted = await pacer.wait()
                        self._in_flight += 1
                        self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
                        try:
                            with self.guarded():
                                return await self._post_search(http, query, granted)
                        finally:
                            self._in_flight -= 1
        except ConfigurationError:
            raise
        except PermanentError as err:
            if not is_vendor_failure(err.kind):  # idiCORE refused this query (TooManyMatches): the lead's
                return SearchResult(query.lead_id, "rejected", reason=err.kind)
            # Any other refusal (405, 422, a 400 without an error code) says nothing about this lead: a
            # failed search, counted against VENDOR_MAX_ERROR_SHARE, not retried (it would not change).
            self.stats.failed_calls += 1
            return SearchResult(query.lead_id, "failed", reason=err.kind)
        except VendorError as err:
            self.stats.failed_calls += 1
            return SearchResult(query.lead_id, "failed", reason=err.kind)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def search_many(
        self, queries: Sequence[PersonQuery], on_result: Callable[[int, SearchResult], None] | None = None
    ) -> list[SearchResult]:
        """Search every query; each result is found, no_match or failed (with a reason). Configuration
        errors (bad credentials, 403) abort the whole batch: no search can succeed. `on_result(index,
        result)` hears of each result as it arrives (to keep what was paid for even if the batch fails)."""
        self._token_lock = asyncio.Lock()
        self.pacer = pacer = AdaptivePacer(self.rate_limit)
        gate = asyncio.Semaphore(self.concurrency)
        results: list[SearchResult | None] = [None] * len(queries)
        pending = iter(enumerate(queries))

        async def worker() -> None:
            for index, query in pending:  # one shared iterator: each query is taken exactly once
                results[index] = result = await self._search(http, pacer, gate, query)
                if on_result is not None:
                    on_result(index, result)

        # A bounded set of workers, not a task per query: 100,000 waiting tasks cost ~1 GB and most of
        # the client's CPU in scheduling. Twice the concurrency, so workers sleeping in a retry back-off
        # (outside the gate) do not starve the vendor of requests.
        async with self._session() as http:
            if queries:
                await self._log_in_before_pacing(http)
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

    async def _log_in_before_pacing(self, http: aiohttp.ClientSession) -> None:
        """The token before the first paced slot: logged in from inside the first search, every search
        whose slot passed during the login's round trip went out together the moment it ended, a burst
        that a vendor enforcing a sliding one-second window answered with 429s (bench sizes). A transient
        failure here is left to the searches, which log in with their own retries and breaker."""
        with contextlib.suppress(RetryableError):
            await self._current_token(http)

    def _session(self) -> aiohttp.ClientSession:
        """At most `concurrency` connections, kept alive between searches; `timeout` bounds each whole
        exchange (connect, send, read): a vendor that trickles a reply cannot hold a worker for long."""
        paced = aiohttp.TraceConfig()
        paced.on_request_headers_sent.append(self._written)
        return aiohttp.ClientSession(
            trace_configs=[paced],
            connector=aiohttp.TCPConnector(limit=self.concurrency),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            # No cookies: the contract has none, and the jar costs CPU on every reply.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def _written(self, _session, trace: SimpleNamespace, _params) -> None:
        """A search's request is on the wire: the pacer's window counts it from now (AdaptivePacer.sent)."""
        if isinstance(paced := trace.trace_request_ctx, _Paced) and self.pacer is not None:
            self.pacer.sent(paced.granted)

    def metadata(self) -> dict[str, float | int]:
        """The shared counters, and how far 429s made the client slow its own rate."""
        figures: dict[str, float | int] = dict(super().metadata())
        if self.pacer is not None:
            figures["idicore_rate_slowdowns"] = self.pacer.slowdowns
            figures["idicore_429_waves"] = self.pacer.waves
            figures["idicore_lowest_rate"] = round(self.pacer.lowest_rate, 2)
            figures["idicore_peak_per_second"] = self.pacer.peak_per_second
        return figures

    def login_only(self) -> tuple[str, float]:
        """Log in without a billed search, on an event loop of its own (health checks, an early login):
        proves the credentials and returns the token with the monotonic time it was obtained."""

        async def go() -> str:
            self._token_lock = asyncio.Lock()
            async with self._session() as http:
                return await self._current_token(http)

        token = asyncio.run(go())
        return token, self._token_at

    def adopt_token(self, token: str, obtained_at: float) -> None:
        """Search with a token another client of the same credentials logged in for (IdiCoreResource's early
        login), as if this client had: the same refresh age from `obtained_at`, a 401 replaces it."""
        self._token, self._token_at = token, obtained_at
        self.stats.logins += 1


@dataclass(frozen=True)
class _Paced:
    granted: float  # when the pacer let the request through


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _error_code(body: bytes) -> str | None:
    """A 400's `error.code` ("TooManyMatches"), or None when the body is not idiCORE's error object. The code
    becomes an error kind, stored and logged: only an identifier-like code is taken, never free text that
    may quote the query (such a code is "BadRequest": idiCORE did refuse it)."""
    try:
        error = json.loads(body)["error"]
        code = error["code"]
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None
    if not isinstance(error, dict):
        return None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else "BadRequest"
