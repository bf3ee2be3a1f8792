"""The real HTTP clients against the sandbox servers on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import threading

import httpx
import pytest

from etl_platform.adapters.vendors.base import ConfigurationError
from etl_platform.adapters.vendors.ccc import CccClient
from etl_platform.adapters.vendors.idicore import IdiCoreClient
from etl_platform.core.contacts import PersonQuery
from etl_platform.core.settings import Settings, VendorCallPolicy
from etl_platform.sandbox.runner import SANDBOX_CREDENTIALS
from etl_platform.sandbox.world import CCC_CLEAR_TEST_NUMBER, CCC_LITIGATOR_TEST_NUMBERS

FAST = VendorCallPolicy(
    timeout_seconds=5,
    max_attempts=3,
    max_retry_seconds=10,
    backoff_initial_seconds=0.01,
    breaker_fail_max=10,
    breaker_reset_seconds=30,
)


def idicore_fields(sandbox) -> dict:
    """The sandbox's idiCORE endpoints and credentials, as the client and the resource both take them."""
    env = sandbox.env
    return dict(
        auth_url=env["IDICORE_AUTH_URL"],
        search_url=env["IDICORE_SEARCH_URL"],
        client_id=SANDBOX_CREDENTIALS["IDICORE_CLIENT_ID"],
        client_secret=SANDBOX_CREDENTIALS["IDICORE_CLIENT_SECRET"],
        rate_limit=1000,
    )


def idicore_client(sandbox, **overrides) -> IdiCoreClient:
    return IdiCoreClient(**(idicore_fields(sandbox) | dict(concurrency=16, policy=FAST) | overrides))


def ccc_client(sandbox, **overrides) -> CccClient:
    kwargs = dict(
        url=sandbox.env["CCC_LITIGATOR_URL"], login_id=SANDBOX_CREDENTIALS["CCC_LOGIN_ID"], batch_size=5000, policy=FAST
    )
    return CccClient(**(kwargs | overrides))


def people(sandbox, n: int) -> list[PersonQuery]:
    rows = sandbox.world.leads_for_day(dt.date(2026, 2, 1), n, with_resends=False)
    return [
        PersonQuery(
            r["LEAD_ID"], r["FIRST_NAME"] or "", r["LAST_NAME"] or "", r["ADDRESS"], r["CITY"], r["STATE"], r["ZIP"]
        )
        for r in rows
        if r["FIRST_NAME"] and r["LAST_NAME"] and r["ZIP"] and r["ADDRESS"] and len(r["ZIP"]) == 5
    ][:n]


# --- idiCORE -------------------------------------------------------------------------------------------
def test_idicore_token_is_plain_text_and_sent_without_bearer(sandbox):
    env = sandbox.env
    token = httpx.post(
        env["IDICORE_AUTH_URL"], auth=("sandbox-client", "sandbox-secret"), json={"glba": "otheruse", "dppa": "none"}
    ).text
    body = {"firstName": "Ann", "lastName": "Lee", "zip": "19104", "address": "1 Main St"}
    assert httpx.post(env["IDICORE_SEARCH_URL"], json=body, headers={"Authorization": token}).status_code == 200
    bearer = httpx.post(env["IDICORE_SEARCH_URL"], json=body, headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401


def test_idicore_search_many_matches_the_world(sandbox):
    queries = people(sandbox, 40)
    client = idicore_client(sandbox)
    results = asyncio.run(client.search_many(queries))
    assert len(results) == len(queries)
    assert client.stats.logins == 1, "concurrent searches share one login"
    for query, result in zip(queries, results, strict=True):
        person = sandbox.world.person(query.first_name, query.last_name, query.zip)
        if person is None:
            assert result.status == "no_match" and not result.phones
            continue
        expected = [p.number for p in sorted(person.phones, key=lambda p: p.rank) if not p.disconnected][:3]
        assert [p.phone for p in result.phones] == expected
        assert [p.rank for p in result.phones] == list(range(1, len(expected) + 1))
        assert len(result.emails) <= 3
    assert sandbox.idicore_counters.snapshot()["counts"]["searches"] == len(queries)


def test_idicore_relogs_in_once_when_a_token_expires_early(sandbox):
    sandbox.idicore.update(faults={"token_expiry": 0.05})
    client = idicore_client(sandbox)
    results = asyncio.run(client.search_many(people(sandbox, 60)))
    assert all(r.status in ("found", "no_match") for r in results), [r.reason for r in results]
    assert client.stats.relogins >= 1
    assert client.stats.logins <= client.stats.relogins + 1


def test_idicore_bad_credentials_is_a_configuration_error(sandbox):
    client = idicore_client(sandbox, client_secret="wrong")
    with pytest.raises(ConfigurationError) as info:
        asyncio.run(client.search_many(people(sandbox, 2)))
    assert "wrong" not in str(info.value)


def test_idicore_too_many_matches_is_rejected_not_retried(sandbox):
    query = PersonQuery("L-broad", "Ann", "Lee", None, "Springfield", "IL", None)
    client = idicore_client(sandbox)
    (result,) = asyncio.run(client.search_many([query]))
    assert result.status == "rejected" and result.reason == "idicore_TooManyMatches"
    assert client.stats.retries == 0


# --- CCC -----------------------------------------------------------------------------------------------
def test_ccc_documented_test_numbers(sandbox):
    client = ccc_client(sandbox)
    outcomes = client.scrub([*CCC_LITIGATOR_TEST_NUMBERS, CCC_CLEAR_TEST_NUMBER])
    assert {p: str(o.status) for p, o in outcomes.items()} == {
        "2675466417": "litigator",
        "5039367187": "litigator",
        "7075276405": "clear",
    }
    assert client.stats.calls == 1


def test_ccc_batches_respect_the_batch_size(sandbox):
    phones = sandbox.world.pool[:25]
    client = ccc_client(sandbox, batch_size=10)
    outcomes = client.scrub(phones)
    assert client.stats.calls == 3
    assert all(str(outcomes[p].status) == ("litigator" if sandbox.world.is_litigator(p) else "clear") for p in phones)


def test_ccc_invalid_numbers_are_not_sent_and_come_back_unknown(sandbox):
    client = ccc_client(sandbox)
    outcomes = client.scrub(["2675466417", "12345", "2115550000"])
    assert str(outcomes["12345"].status) == "unknown" and outcomes["12345"].reason == "invalid_number"
    assert str(outcomes["2115550000"].status) == "unknown"
    assert sandbox.ccc_counters.snapshot()["counts"]["scrubbed_phones"] == 1


def test_ccc_a_400_batch_is_split_to_isolate_the_bad_number(sandbox):
    client = ccc_client(sandbox)
    good = sandbox.world.pool[:7]
    with httpx.Client() as http:
        # bypass validation to make the server reject a batch, as a number the validator missed would
        outcomes = client._scrub_batch(http, [*good[:3], "26754664", *good[3:]])
    assert outcomes["26754664"].reason == "ccc_rejected_number"
    assert all(str(outcomes[p].status) in ("clear", "litigator") for p in good)


def test_ccc_bad_login_answered_with_html_200_is_unknown_never_clear(sandbox):
    client = ccc_client(sandbox, login_id="wrong-key")
    outcomes = client.scrub([CCC_CLEAR_TEST_NUMBER, "2012345678"])
    assert all(str(o.status) == "unknown" for o in outcomes.values())
    assert {o.reason for o in outcomes.values()} == {"ccc_bad_reply_html"}


# --- a vendor that enforces its rate limit with a strict sliding one-second window ------------------------
def test_idicore_at_the_vendors_limit_sends_no_burst_and_completes(sandbox):
    """DESIGN's idiCORE latency (250 ms), 16 in flight, the client's default rate equal to the vendor's
    limit: the old client let a one-second bucket through at start, drew 429s, and its breaker opened."""
    limit = Settings().idicore_rate_limit
    sandbox.idicore.update(rate_limit=limit, rate_mode="window", latency_ms=250)
    queries = people(sandbox, 200)
    client = idicore_client(sandbox, rate_limit=limit)
    results = asyncio.run(client.search_many(queries))
    assert all(r.ok for r in results), {r.reason for r in results if not r.ok}
    assert client.stats.breaker_openings == 0 and client.stats.failed_calls == 0
    # requests the client sent in any one second (a late wake-up can bring one forward, never more)
    assert client.metadata()["idicore_peak_per_second"] <= limit + 1
    # ... and that reached the vendor, refused ones included: when the first search logged in, every slot
    # that passed during the login's 250 ms went out at once when it ended (~60 in one second, and 429s)
    assert sandbox.idicore.bucket.arrival_peak <= limit + 1, sandbox.idicore.bucket.arrival_peak
    assert client.stats.http_429 <= 1, client.stats
    assert sandbox.idicore_counters.snapshot()["counts"].get("rate_limited", 0) == client.stats.http_429


def test_idicore_set_above_the_vendors_limit_slows_down_instead_of_opening_the_breaker(sandbox):
    sandbox.idicore.update(rate_limit=40, rate_mode="window", latency_ms=20)
    client = idicore_client(sandbox, rate_limit=60)  # 50% above what the vendor allows
    results = asyncio.run(client.search_many(people(sandbox, 150)))
    assert all(r.ok for r in results), {r.reason for r in results if not r.ok}
    meta = client.metadata()
    assert meta["idicore_http_429"] > 0, "the vendor refused some: the client was above its limit"
    assert meta["idicore_rate_slowdowns"] >= 1 and meta["idicore_lowest_rate"] < 40
    assert meta["idicore_breaker_openings"] == 0 and meta["idicore_failed_calls"] == 0


def test_idicore_429s_never_open_the_breaker(sandbox):
    """Every search in flight answered 429 at once, more of them than the breaker's fail_max: the client
    pauses for Retry-After and goes on; the breaker stays closed and every search succeeds."""
    # 200 ms replies at 100 searches/s: 16 in flight when the first 429 comes back
    sandbox.idicore.update(faults={"429": 1.0}, fault_limit=14, latency_ms=200)
    client = idicore_client(sandbox, concurrency=16, rate_limit=100)
    assert client.policy.breaker_fail_max < 14
    results = asyncio.run(client.search_many(people(sandbox, 40)))
    assert all(r.ok for r in results), ({r.reason for r in results if not r.ok}, client.stats, client.policy)
    assert client.stats.http_429 == 14 and client.stats.breaker_openings == 0


def _resource(sandbox, **overrides):
    from etl_platform.defs.resources import IdiCoreResource

    return IdiCoreResource(**(idicore_fields(sandbox) | dict(concurrency=8) | FAST.model_dump() | overrides))


def test_idicore_resource_logs_in_as_the_run_starts_and_the_searches_use_that_token(sandbox):
    """The early login (resource setup) is the run's only login: the searches adopt its token."""
    import dagster as dg

    resource = _resource(sandbox)
    with dg.build_init_resource_context() as context:
        resource.setup_for_execution(context)
        client = resource.client()
    assert sandbox.idicore_counters.snapshot()["counts"]["logins"] == 1, "logged in before any search"
    queries = people(sandbox, 10)
    results = asyncio.run(client.search_many(queries))
    assert [r.status for r in results].count("failed") == 0
    counts = sandbox.idicore_counters.snapshot()["counts"]
    assert counts["logins"] == 1 and client.stats.logins == 1 and counts["searches"] == len(queries)


def test_idicore_resource_falls_back_to_its_own_login_when_the_early_one_failed(sandbox, monkeypatch):
    """An early login that fails changes nothing but the timing: the searches log in themselves."""
    import dagster as dg

    from etl_platform.adapters.vendors.base import RetryableError

    def vendor_hiccup(self):
        raise RetryableError("http_503", "idiCORE answered 503")

    resource = _resource(sandbox)
    with monkeypatch.context() as patched, dg.build_init_resource_context() as context:
        patched.setattr(IdiCoreClient, "login_only", vendor_hiccup)
        resource.setup_for_execution(context)
        client = resource.client()
    assert client.stats.logins == 0 and sandbox.idicore_counters.snapshot()["counts"].get("logins", 0) == 0
    results = asyncio.run(client.search_many(people(sandbox, 5)))
    assert [r.status for r in results].count("failed") == 0
    assert client.stats.logins == 1 and sandbox.idicore_counters.snapshot()["counts"]["logins"] == 1


def test_idicore_resource_with_refused_credentials_fails_as_before(sandbox):
    """Refused credentials: the early login's 401 is not what the run reports; the searches' own login
    meets the same 401 and fails the batch with the configuration error."""
    import dagster as dg

    resource = _resource(sandbox, client_secret="not-the-secret")
    with dg.build_init_resource_context() as context:
        resource.setup_for_execution(context)
        client = resource.client()
    with pytest.raises(ConfigurationError, match="rejected the client id/secret"):
        asyncio.run(client.search_many(people(sandbox, 2)))


def test_idicore_every_search_written_is_reported_to_the_pacer(sandbox, monkeypatch):
    """The pacer's window counts a search from when aiohttp wrote it (a trace hook), not only from when it
    was let through: one report per search written, logins not counted."""
    from etl_platform.adapters.vendors.pacing import AdaptivePacer

    reported: list[float] = []
    real_sent = AdaptivePacer.sent
    monkeypatch.setattr(
        AdaptivePacer, "sent", lambda self, granted: (reported.append(granted), real_sent(self, granted))
    )
    queries = people(sandbox, 12)
    client = idicore_client(sandbox)
    asyncio.run(client.search_many(queries))
    assert len(reported) == client.stats.calls == len(queries) and client.stats.logins == 1


# --- replies in unusual but possible forms, over real HTTP (sandbox fault kinds) -------------------------
@pytest.mark.parametrize("fault", ["retry_after_garbage", "retry_after_date"])
def test_idicore_429_with_an_odd_retry_after_is_ridden_out_not_a_traceback(sandbox, fault):
    """A 429 whose Retry-After is "soon" raised ValueError out of the client (and failed the day after three
    whole-step attempts). It is a 429 like any other: paced, retried, never opening the breaker."""
    sandbox.idicore.update(faults={fault: 1.0}, fault_limit=3)
    client = idicore_client(sandbox)
    results = asyncio.run(client.search_many(people(sandbox, 8)))
    assert all(r.ok for r in results), {r.reason for r in results if not r.ok}
    assert client.stats.http_429 == 3 and client.stats.breaker_openings == 0
    assert client.stats.bad_retry_after == (3 if fault == "retry_after_garbage" else 0)


def test_ccc_429_with_a_garbage_retry_after_is_retried_not_a_traceback(sandbox):
    sandbox.ccc.update(faults={"retry_after_garbage": 1.0}, fault_limit=1)
    client = ccc_client(sandbox)
    outcomes = client.scrub([*CCC_LITIGATOR_TEST_NUMBERS, CCC_CLEAR_TEST_NUMBER])
    assert {p: str(o.status) for p, o in outcomes.items()} == {
        "2675466417": "litigator",
        "5039367187": "litigator",
        "7075276405": "clear",
    }
    assert client.stats.http_429 == 1 and client.stats.bad_retry_after == 1 and client.stats.calls == 2


def test_vendor_replies_that_are_not_utf8_are_bad_replies_unknown_never_clear(sandbox):
    sandbox.idicore.update(faults={"not_utf8": 1.0})
    sandbox.ccc.update(faults={"not_utf8": 1.0})
    idicore = idicore_client(sandbox)
    (result,) = asyncio.run(idicore.search_many(people(sandbox, 1)))
    assert result.status == "failed" and result.reason == "bad_reply_not_json"
    ccc = ccc_client(sandbox)
    outcomes = ccc.scrub([CCC_CLEAR_TEST_NUMBER])
    assert str(outcomes[CCC_CLEAR_TEST_NUMBER].status) == "unknown"
    assert outcomes[CCC_CLEAR_TEST_NUMBER].reason == "ccc_bad_reply_not_json"


def test_vendor_replies_whose_content_encoding_lies_are_errors_never_a_traceback(sandbox):
    """ "Content-Encoding: gzip" over a body that is not gzip: httpx's DecodingError is no TransportError,
    and it propagated out of the CCC client as a traceback."""
    sandbox.idicore.update(faults={"bad_encoding": 1.0})
    sandbox.ccc.update(faults={"bad_encoding": 1.0})
    (result,) = asyncio.run(idicore_client(sandbox).search_many(people(sandbox, 1)))
    assert result.status == "failed" and result.reason == "connection"  # aiohttp: a ClientPayloadError
    outcomes = ccc_client(sandbox).scrub([CCC_CLEAR_TEST_NUMBER])
    assert str(outcomes[CCC_CLEAR_TEST_NUMBER].status) == "unknown"
    assert outcomes[CCC_CLEAR_TEST_NUMBER].reason == "ccc_bad_reply_encoding"


@pytest.mark.parametrize("fault", ["huge_reply", "huge_reply_chunked", "huge_reply_gzip"])
def test_a_reply_far_larger_than_any_the_contract_describes_is_a_bad_reply(sandbox, fault):
    """17 MiB of reply, with its length declared or chunked: read no further than the cap, a bad reply
    (retried, then unknown), never a body held whole in memory or parsed. Gzipped, its declared length is
    ~17 kB: the idiCORE client took that for the body's and decompressed the whole of it (a gzip bomb)."""
    sandbox.idicore.update(faults={fault: 1.0})
    sandbox.ccc.update(faults={fault: 1.0})
    (result,) = asyncio.run(idicore_client(sandbox).search_many(people(sandbox, 1)))
    assert result.status == "failed" and result.reason == "bad_reply_too_large"
    outcomes = ccc_client(sandbox).scrub([CCC_CLEAR_TEST_NUMBER])
    assert str(outcomes[CCC_CLEAR_TEST_NUMBER].status) == "unknown"
    assert outcomes[CCC_CLEAR_TEST_NUMBER].reason == "ccc_bad_reply_too_large"


@pytest.mark.parametrize(("fault", "kind"), [("405", "http_405"), ("400_plain", "bad_reply_400")])
def test_idicore_refusals_that_are_not_idicores_are_failed_searches_not_rejected_leads(sandbox, fault, kind):
    """A 405, or a 400 without idiCORE's error object, for every search: the old client called each lead
    "rejected" (a refused query, the lead's problem), which the stage's error budget does not count, so a
    misrouted gateway gave a day without a phone and no failure. Now each is a failed search, not retried."""
    sandbox.idicore.update(faults={fault: 1.0})
    client = idicore_client(sandbox)
    results = asyncio.run(client.search_many(people(sandbox, 4)))
    assert {(r.status, r.reason) for r in results} == {("failed", kind)}
    assert client.stats.failed_calls == 4 and client.stats.retries == 0


def test_idicore_login_refused_as_a_request_stops_the_batch_with_a_configuration_error(sandbox):
    """A login answered 405 (an auth URL that points at the wrong endpoint): the early login's PermanentError
    propagated out of search_many as it was; it is the configuration error a refused login is."""
    stats_url = sandbox.env["IDICORE_SEARCH_URL"].replace("/search/", "/_sandbox/stats")  # GET only: 405
    client = idicore_client(sandbox, auth_url=stats_url)
    with pytest.raises(ConfigurationError, match="IDICORE_AUTH_URL"):
        asyncio.run(client.search_many(people(sandbox, 2)))


@pytest.mark.parametrize("fault", ["login_html", "login_json", "login_line_break"])
def test_idicore_login_reply_without_a_usable_token_is_retried_as_a_bad_reply(sandbox, fault):
    """The first two logins answer 200 with no usable token: a login page, a JSON object, a token with a
    line break (aiohttp refuses to send such a header: a ValueError traceback out of every search). The
    early login's failure is left to the searches; the one a search makes is a bad reply of its kind, that
    search is retried, and every search goes out with the next, good, token."""
    sandbox.idicore.update(faults={fault: 1.0}, fault_limit=2)
    client = idicore_client(sandbox)
    results = asyncio.run(client.search_many(people(sandbox, 6)))
    assert all(r.ok for r in results), {r.reason for r in results if not r.ok}
    kind = {"login_html": "html", "login_json": "json", "login_line_break": "token"}[fault]
    assert client.stats.errors == {f"bad_reply_login_{kind}": 1}
    counts = sandbox.idicore_counters.snapshot()["counts"]
    assert counts[f"fault_{fault}"] == 2 and counts.get("unauthorized", 0) == 0
    assert counts["logins"] == 3 and counts["searches"] == 6


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """idiCORE behind a moved endpoint: the login works, the search URL answers 302 to a page that, asked
    with GET (what a client following a 302 sends), answers a well-formed "no match"."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/apiclient":
            self._send(200, b"0f3a9c", "text/plain")
        else:
            self.send_response(302)
            self.send_header("Location", "/moved")
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_GET(self):
        self._send(200, b'{"result": []}', "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet: the test asserts what matters
        pass


@pytest.fixture
def redirecting_idicore():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_idicore_search_answered_with_a_redirect_is_a_configuration_error_not_no_match(redirecting_idicore):
    """aiohttp followed the 302 and sent the search again as a GET, and the page there said "no match":
    every lead came back no_match, a day without phones written over a good one. A redirect is no answer:
    the URL is wrong (classify's 3xx rule), so the batch stops and says so."""
    client = IdiCoreClient(
        auth_url=f"{redirecting_idicore}/apiclient",
        search_url=f"{redirecting_idicore}/search/",
        client_id="id",
        client_secret="secret",
        rate_limit=1000,
        concurrency=2,
        policy=FAST,
    )
    query = PersonQuery("L1", "Ann", "Lee", "1 Main St", "Springfield", "PA", "19001")
    with pytest.raises(ConfigurationError, match="check the URL"):
        asyncio.run(client.search_many([query]))
