"""The real HTTP clients against the sandbox servers on loopback, and the DNC store on real files."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etl_platform.phones import is_valid_nanp
from etl_platform.sandbox.runner import SANDBOX_CREDENTIALS
from etl_platform.sandbox.world import CCC_CLEAR_TEST_NUMBER, CCC_LITIGATOR_TEST_NUMBERS
from etl_platform.vendors.ccc import CccClient, parse_litigator_reply
from etl_platform.vendors.common import ConfigurationError, RetryableError, RetrySettings
from etl_platform.vendors.dnc import DncStore
from etl_platform.vendors.idicore import IdiCoreClient, PersonQuery, parse_search_reply

FAST_RETRY = RetrySettings(max_attempts=3, max_seconds=10, backoff_initial=0.01, backoff_max=0.05)


def idicore_client(sandbox, **overrides) -> IdiCoreClient:
    env = sandbox.env
    kwargs = dict(
        auth_url=env["IDICORE_AUTH_URL"],
        search_url=env["IDICORE_SEARCH_URL"],
        client_id=SANDBOX_CREDENTIALS["IDICORE_CLIENT_ID"],
        client_secret=SANDBOX_CREDENTIALS["IDICORE_CLIENT_SECRET"],
        retry=FAST_RETRY,
        rate_limit=1000,
    )
    return IdiCoreClient(**(kwargs | overrides))


def ccc_client(sandbox, **overrides) -> CccClient:
    kwargs = dict(url=sandbox.env["CCC_LITIGATOR_URL"], login_id=SANDBOX_CREDENTIALS["CCC_LOGIN_ID"], retry=FAST_RETRY)
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


@pytest.mark.parametrize(
    "payload",
    [{}, {"result": None}, {"result": {"phone": []}}, {"results": []}, [], "ok", {"result": ["not a person"]}],
)
def test_idicore_reply_without_a_result_list_is_an_error_never_no_phones(payload):
    with pytest.raises(RetryableError):
        parse_search_reply("L1", payload)


def test_idicore_reply_parsing_ranks_dedupes_and_drops_disconnected():
    payload = {
        "result": [
            {
                "phone": [
                    {"number": "(503) 936-7187", "disconnected": False, "meta": {"rank": 3}},
                    {"number": "267-546-6417", "disconnected": False, "meta": {"rank": 2}},
                    {"number": "2675466417", "disconnected": False, "meta": {"rank": 5}},
                    {"number": "707 527 6405", "disconnected": True, "meta": {"rank": 1}},
                    {"number": "211-555-0000", "disconnected": False, "meta": {"rank": 1}},
                    {"number": "4155550123", "meta": {"rank": 4}},
                    {"number": "2015550199", "meta": {}},
                    {"number": "2012345678"},
                ],
                "email": [
                    {"data": "b@x.com", "meta": {"rank": 2}},
                    {"data": "a@x.com", "meta": {"rank": 1}},
                    {"data": "A@x.com", "meta": {"rank": 3}},
                    {"data": "c@x.com", "meta": {"rank": 4}},
                    {"data": "d@x.com", "meta": {"rank": 5}},
                ],
            },
            {"phone": [{"number": "2029999999", "meta": {"rank": 1}}]},
        ]
    }
    result = parse_search_reply("L1", payload)
    assert [p.phone for p in result.phones] == ["2675466417", "5039367187", "2012345678"]
    assert result.dropped_disconnected == 1
    assert result.emails == ("a@x.com", "b@x.com", "c@x.com")


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


def _response(body, content_type="application/json") -> httpx.Response:
    return httpx.Response(
        200, content=body.encode(), headers={"content-type": content_type}, request=httpx.Request("POST", "http://x")
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('[{"Phone": 2675466417, "IsLitigator": true}]', "bad_reply_phone_mismatch"),
        (
            '[{"Phone": 2675466417, "IsLitigator": true}, {"Phone": 2675466417, "IsLitigator": true}]',
            "bad_reply_duplicate_phone",
        ),
        (
            '[{"Phone": 2675466417, "IsLitigator": "false"}, {"Phone": 7075276405, "IsLitigator": false}]',
            "bad_reply_types",
        ),
        ('{"Phone": 2675466417}', "bad_reply_not_list"),
        ("<html>login</html>", "bad_reply_html"),
        ('[{"Phone": 26', "bad_reply_not_json"),
    ],
)
def test_ccc_reply_that_breaks_contract_fails_the_whole_batch(body, kind):
    with pytest.raises(RetryableError) as info:
        parse_litigator_reply(["2675466417", "7075276405"], _response(body))
    assert info.value.kind == kind


# --- DNC store -----------------------------------------------------------------------------------------
def test_dnc_store_verdicts_stale_and_uncovered(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    today = dt.date(2026, 11, 21)
    (source / "dnc_201_2026-11-20.txt").write_text("201,2345678\n201,3456789\nnot a number\n2019876543\n")
    (source / "dnc_267_2026-10-01.txt").write_text("267,5466417\n")  # 51 days old: stale
    store = DncStore(tmp_path / "registry.duckdb")
    report = store.load(source)
    assert report.changed and report.numbers == 4
    assert {c.area_code: c.copy_date for c in report.area_codes} == {
        "201": dt.date(2026, 11, 20),
        "267": dt.date(2026, 10, 1),
    }
    got = {
        p: (str(o.status), o.reason)
        for p, o in store.lookup(
            ["2012345678", "2019876543", "2012222222", "2675466417", "3125551234", "12"], today
        ).items()
    }
    assert got == {
        "2012345678": ("listed", None),
        "2019876543": ("listed", None),
        "2012222222": ("clear", None),
        "2675466417": ("unknown", "registry_stale"),
        "3125551234": ("unknown", "area_code_not_covered"),
        "12": ("unknown", "invalid_number"),
    }
    assert not store.load(source).changed, "unchanged files do not rebuild the store"


def test_dnc_store_missing_registry_is_unknown(tmp_path):
    outcomes = DncStore(tmp_path / "absent.duckdb").lookup(["2012345678"], dt.date(2026, 11, 21))
    assert outcomes["2012345678"].reason == "registry_missing"


def test_dnc_newer_copy_of_an_area_code_wins(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a_201_2026-11-01.txt").write_text("201,2345678\n")
    (source / "b_201_2026-11-15.txt").write_text("201,3456789\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    got = store.lookup(["2012345678", "2013456789"], dt.date(2026, 11, 20))
    assert str(got["2012345678"].status) == "clear" and str(got["2013456789"].status) == "listed"


def test_dnc_change_list_adds_deletes_and_freshens_its_area_code(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-10-01.txt").write_text("201,2345678\n201,3456789\n")  # 51 days old on 11-21
    (source / "dnc_changes_2026-11-15.txt").write_text("A,201,2222222\nD,201,2345678\nX,201,9999999\nA,312,2223333\n")
    store = DncStore(tmp_path / "r.duckdb")
    report = store.load(source)
    (copy,) = report.area_codes
    assert copy.copy_date == dt.date(2026, 11, 15) and copy.numbers == 2
    got = {
        p: str(o.status)
        for p, o in store.lookup(
            ["2012222222", "2012345678", "2013456789", "3122223333"], dt.date(2026, 11, 21)
        ).items()
    }
    assert got == {"2012222222": "listed", "2012345678": "clear", "2013456789": "listed", "3122223333": "unknown"}


def test_dnc_change_list_older_than_the_full_list_is_ignored(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "dnc_201_2026-11-15.txt").write_text("201,2345678\n")
    (source / "dnc_changes_2026-11-01.txt").write_text("D,201,2345678\n")
    store = DncStore(tmp_path / "r.duckdb")
    store.load(source)
    assert str(store.lookup(["2012345678"], dt.date(2026, 11, 20))["2012345678"].status) == "listed"


_DIGITS_OR_JUNK = st.one_of(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    # each rule's edge: N11 area code, 555-01xx fictional range and its bounds, exchange 0/1, area 0/1
    st.sampled_from(["2112345678", "2025550100", "2025550199", "2025550200", "2021234567", "2020234567", "1202345678"]),
    st.text(alphabet="0123456789-() +x", max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phones=st.lists(_DIGITS_OR_JUNK, min_size=1, max_size=40))
@example(phones=["2112345678", "2025550100", "2025550199", "2025550200", "2021234567", "1202345678", "2022345678"])
def test_dnc_lookup_validates_exactly_like_the_nanp_rule(tmp_path, phones):
    """The store validates in SQL (sql/dnc_lookup.sql) for speed; it must agree with phones.py, or a number
    the rest of the pipeline calls valid could slip through the DNC scrub as 'invalid' (or the reverse)."""
    store = DncStore(tmp_path / "registry.duckdb")
    if not store.path.exists():
        source = tmp_path / "src"
        source.mkdir(exist_ok=True)
        (source / "dnc_202_2026-11-20.txt").write_text("202,2345678\n")
        store.load(source)
    frame = store.lookup_frame(phones, dt.date(2026, 11, 21))
    assert sorted(frame["PHONE"]) == sorted(set(phones)), "one row per distinct phone, none lost"
    for phone, status, reason in frame.itertuples(index=False):
        invalid = reason == "invalid_number"
        assert invalid == (not is_valid_nanp(phone)), phone
        if invalid:
            assert status == "unknown"
        elif phone == "2022345678":
            assert status == "listed"
