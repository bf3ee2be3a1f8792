"""The vendor replies as the clients parse them: what breaks the contract is an error (retried, then
unknown), never "no phones" or "clear". Plain functions over plain payloads: no server."""

from __future__ import annotations

import email.utils
import json

import aiohttp
import httpx
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from etl_platform.adapters.vendors.base import (
    MAX_RETRY_AFTER_SECONDS,
    ConfigurationError,
    RetryableError,
    UnreadableRetryAfter,
    VendorStats,
    as_vendor_error,
    classify,
    parse_retry_after,
)
from etl_platform.adapters.vendors.ccc import CccClient, parse_litigator_reply
from etl_platform.adapters.vendors.idicore import (
    MAX_TOKEN_CHARS,
    _error_code,
    parse_login_reply,
    parse_search_reply,
    search_payload,
)
from etl_platform.core.settings import VendorCallPolicy
from etl_platform.core.vendor_failures import is_vendor_failure, kind_of


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


def _body(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body


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
        parse_litigator_reply(["2675466417", "7075276405"], _body(body), "application/json")
    assert info.value.kind == kind


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), "connection"),
        (aiohttp.ClientPayloadError("truncated"), "connection"),
        (aiohttp.ServerTimeoutError(), "timeout"),  # both a ClientError and a TimeoutError: a timeout
        (TimeoutError(), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
        (httpx.DecodingError("not gzip"), "bad_reply_encoding"),  # not a TransportError: it propagated
    ],
)
def test_transport_failures_of_either_http_library_are_retryable_with_their_kind(exc, kind):
    err = as_vendor_error(exc)
    assert isinstance(err, RetryableError) and err.kind == kind


def test_an_unexpected_exception_is_not_turned_into_a_vendor_error():
    with pytest.raises(KeyError):
        as_vendor_error(KeyError("bug"))


# --- replies in unusual but possible forms: each one an error of a named kind, never a traceback --------
NOW = 1_800_000_000.0  # a fixed "now" for HTTP-dates


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("86400", MAX_RETRY_AFTER_SECONDS),  # huge: capped, the pacer would otherwise pause everyone a day
        ("9" * 400, MAX_RETRY_AFTER_SECONDS),  # a float of 400 digits is inf until capped: still a number
        (email.utils.formatdate(NOW + 12, usegmt=True), 12.0),  # HTTP-date
        (email.utils.formatdate(NOW - 60, usegmt=True), 0.0),  # an HTTP-date in the past: no pause
        (email.utils.formatdate(NOW + 12).replace("+0000", "-0000"), 12.0),  # naive "-0000": UTC, not local
        ("5, 10", 10.0),  # two headers joined by commas: the longer pause
    ],
)
def test_retry_after_reads_seconds_dates_and_several_values_within_the_cap(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize("value", ["soon", "-3", "inf", "nan", "1e3", "1_0", "5, soon", "Wed, 99 Foo", "0x10"])
def test_an_unreadable_retry_after_is_named_never_a_traceback(value):
    with pytest.raises(UnreadableRetryAfter):
        parse_retry_after(value, now=NOW)


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_5xx_with_a_garbage_retry_after_keeps_its_kind_and_falls_back_to_the_backoff(status):
    """The status still says what happened (a 429 stays a 429: paced, never opening the breaker); the
    unreadable header is counted apart, and the wait is the backoff's."""
    err = classify(status, httpx.Headers({"Retry-After": "whenever"}), "vendor")
    assert isinstance(err, RetryableError) and err.kind == f"http_{status}"
    assert err.retry_after is None and err.bad_retry_after
    stats = VendorStats()
    stats.note_error(err)
    assert stats.bad_retry_after == 1 and stats.errors == {f"http_{status}": 1}


def test_several_retry_after_headers_of_either_http_library_give_the_longest_pause():
    repeated = CIMultiDict([("Retry-After", "2"), ("Retry-After", "9")])  # aiohttp keeps them apart
    assert classify(429, CIMultiDictProxy(repeated), "vendor").retry_after == 9.0
    joined = httpx.Headers([("Retry-After", "2"), ("Retry-After", "9")])  # httpx joins them with commas
    assert classify(429, joined, "vendor").retry_after == 9.0


@pytest.mark.parametrize(("status", "error"), [(302, ConfigurationError), (307, ConfigurationError)])
def test_a_redirect_is_a_configuration_error_not_a_refused_request(status, error):
    assert type(classify(status, {}, "vendor")) is error


BEST = {"number": "267-546-6417", "type": "mobile", "disconnected": False, "meta": {"rank": 1}}


def _person(**fields) -> dict:
    return {"result": [{"name": [{"first": "A", "last": "B"}], "phone": [BEST], "email": []} | fields]}


def _phone(**fields) -> dict:
    return _person(phone=[BEST | fields])


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"result": None}, "bad_reply_no_result_list"),
        ({"result": {"phone": []}}, "bad_reply_no_result_list"),  # a dict, not a list
        ([{"phone": []}], "bad_reply_no_result_list"),  # a list, not an object
        ({"result": ["a person"]}, "bad_reply_person"),
        ({"result": [None]}, "bad_reply_person"),
        (_person(phone=None), "bad_reply_fields"),  # `phone: null` is not "no phones"
        (_person(phone={"number": "2675466417"}), "bad_reply_fields"),
        (_person(email="a@x.com"), "bad_reply_fields"),
        (_person(phone=["2675466417"]), "bad_reply_phone_entry"),
        (_person(phone=[BEST, None]), "bad_reply_phone_entry"),
        (_phone(number=2675466417), "bad_reply_phone_number"),  # a number, not a string
        (_phone(number=None), "bad_reply_phone_number"),
        (_phone(number=["2675466417"]), "bad_reply_phone_number"),
        (_phone(disconnected="true"), "bad_reply_disconnected"),  # only JSON true drops, and "true" is not it
        (_phone(disconnected=1), "bad_reply_disconnected"),
        (_phone(type={"kind": "mobile"}), "bad_reply_phone_type"),
        (_phone(meta="rank 1"), "bad_reply_meta"),
        (_phone(meta={"rank": "first"}), "bad_reply_rank"),
        (_phone(meta={"rank": "1"}), "bad_reply_rank"),
        (_phone(meta={"rank": True}), "bad_reply_rank"),
        (_phone(meta={"rank": float("nan")}), "bad_reply_rank"),  # json.loads accepts NaN
        (_phone(meta={"rank": 10**400}), "bad_reply_rank"),  # an OverflowError out of float() before
        (_phone(meta={"rank": 1, "firstSeen": "last year"}), "bad_reply_dates"),
        (_phone(meta={"rank": 1, "lastSeen": 2015}), "bad_reply_dates"),
        (_phone(meta={"rank": 1, "lastSeen": 20150101.5}), "bad_reply_dates"),
        (_person(email=[{"data": 42, "meta": {"rank": 1}}]), "bad_reply_email_entry"),
        (_person(email=[{"data": None}]), "bad_reply_email_entry"),
        (_person(email=["a@x.com"]), "bad_reply_email_entry"),
        (_person(email=[{"data": "a@x.com", "meta": {"rank": "top"}}]), "bad_reply_rank"),
    ],
)
def test_idicore_reply_of_the_wrong_shape_is_an_error_of_its_kind(payload, kind):
    with pytest.raises(RetryableError) as info:
        parse_search_reply("L1", payload)
    assert info.value.kind == kind


@pytest.mark.parametrize(
    ("payload", "phones", "disconnected", "invalid"),
    [
        (_phone(disconnected=True), [], 1, 0),
        (_phone(disconnected=None), ["2675466417"], 0, 0),  # null: not said to be disconnected
        (_phone(meta=None), ["2675466417"], 0, 0),  # no meta: unranked, still found
        (_phone(meta={"rank": 2, "firstSeen": 20150000, "lastSeen": "20260101"}), ["2675466417"], 0, 0),
        (_phone(number="not a phone"), [], 0, 1),  # a string that is no callable number: dropped, counted
        (_person(phone=[]), [], 0, 0),
        ({"result": [{"name": []}]}, [], 0, 0),  # no phone field at all: the person has none
    ],
)
def test_idicore_reply_forms_the_contract_allows_are_read(payload, phones, disconnected, invalid):
    result = parse_search_reply("L1", payload)
    assert [p.phone for p in result.phones] == phones
    assert (result.dropped_disconnected, result.dropped_invalid) == (disconnected, invalid)


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"", "application/json", "bad_reply_not_json"),
        (b'{"result": [ {"trunc', "application/json", "bad_reply_not_json"),
        (b'{"result": "\xff\xfe\xc0"}', "application/json", "bad_reply_not_json"),  # not UTF-8
        (b"[" * 100_000, "application/json", "bad_reply_not_json"),  # nested past the parser's recursion
        (b"<!DOCTYPE html><html>Sign in</html>", "application/json", "bad_reply_html"),  # the type lies
        (b'{"result": []}', "text/html; charset=utf-8", "bad_reply_html"),  # a proxy's page, or a lie: not trusted
        (b"OK", "text/plain", "bad_reply_not_json"),
    ],
)
def test_idicore_search_body_that_is_not_json_is_an_error_of_its_kind(body, content_type, kind):
    with pytest.raises(RetryableError) as info:
        search_payload(body, content_type)
    assert info.value.kind == kind


def test_idicore_search_body_of_json_is_read_whatever_its_declared_type():
    assert search_payload(b'{"result": []}', "text/plain") == {"result": []}


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"", "text/plain", "bad_reply_login_empty"),
        (b" \r\n\t", "text/plain", "bad_reply_login_empty"),
        (b"<html><body>Sign in</body></html>", "text/plain", "bad_reply_login_html"),
        (b"0f3a9c", "text/html", "bad_reply_login_html"),
        (b'{"token": "0f3a9c"}', "application/json", "bad_reply_login_json"),
        (b'"0f3a9c"', "application/json", "bad_reply_login_json"),
        (b"0f3a9c\r\n7d21e4", "text/plain", "bad_reply_login_token"),  # aiohttp refuses such a header
        (b"0f3a 9c", "text/plain", "bad_reply_login_token"),
        (b"t" * (MAX_TOKEN_CHARS + 1), "text/plain", "bad_reply_login_token"),  # a 400 per search: "refused"
        ("tök".encode(), "text/plain", "bad_reply_login_token"),
        (b"\xff\xfe0f3a", "text/plain", "bad_reply_login_token"),
    ],
)
def test_idicore_login_body_that_is_not_a_plain_text_token_is_an_error_of_its_kind(body, content_type, kind):
    with pytest.raises(RetryableError) as info:
        parse_login_reply(body, content_type)
    assert info.value.kind == kind


@pytest.mark.parametrize("body", [b"0f3a9c", b"0f3a9c\n", b"  0f3a9c\r\n", b"t" * MAX_TOKEN_CHARS])
def test_idicore_login_token_with_surrounding_whitespace_is_read(body):
    assert parse_login_reply(body, "text/plain") == body.decode().strip()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"error": {"code": "TooManyMatches"}}', "TooManyMatches"),
        (b'{"error": {"code": "No match for Ann Lee, 1 Main St"}}', "BadRequest"),  # free text: never a kind
        (b'{"error": {"code": 42}}', "BadRequest"),
        (b'{"error": "TooManyMatches"}', None),  # not idiCORE's error object
        (b'{"error": {"message": "bad"}}', None),
        (b'["error"]', None),
        (b"Bad Request", None),  # a proxy's plain-text refusal
        (b"[" * 100_000, None),
        (b"\xff\xfe", None),
    ],
)
def test_idicore_400_error_code_is_taken_only_from_its_error_object_and_only_an_identifier(body, code):
    assert _error_code(body) == code


TWO = ["2675466417", "7075276405"]


def _ccc(items: list) -> str:
    return json.dumps(items)


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (
            _ccc([{"Phone": 2675466417.0, "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": False}]),
            None,
            "bad_reply_types",
        ),  # Phone a float
        (
            _ccc([{"Phone": "267-546-6417", "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": False}]),
            None,
            "bad_reply_types",
        ),  # Phone punctuated
        (
            _ccc([{"Phone": "2675466417²", "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": False}]),
            None,
            "bad_reply_types",
        ),  # "²" passes str.isdigit but not int(): a ValueError traceback before
        (
            _ccc([{"Phone": -2675466417, "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": False}]),
            None,
            "bad_reply_types",
        ),
        (
            _ccc([{"Phone": True, "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": False}]),
            None,
            "bad_reply_types",
        ),
        (
            _ccc([{"Phone": 2675466417, "IsLitigator": "true"}, {"Phone": 7075276405, "IsLitigator": False}]),
            None,
            "bad_reply_types",
        ),
        (
            _ccc([{"Phone": 2675466417, "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": 0}]),
            None,
            "bad_reply_types",
        ),  # 0 is not false
        (
            _ccc([{"Phone": 2675466417, "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": None}]),
            None,
            "bad_reply_types",
        ),  # null is not false
        (_ccc([{"Phone": 2675466417, "IsLitigator": True}, {"Phone": 7075276405}]), None, "bad_reply_types"),
        (_ccc([{"Phone": 2675466417, "IsLitigator": True}, "7075276405"]), None, "bad_reply_item"),
        (
            _ccc(
                [
                    {"Phone": 2675466417, "IsLitigator": True},
                    {"Phone": "7075276405", "IsLitigator": False},
                    {"Phone": 2015550123, "IsLitigator": False},
                ]
            ),
            None,
            "bad_reply_phone_mismatch",
        ),  # one extra
        (
            _ccc([{"Phone": 2675466417, "IsLitigator": True}, {"Phone": 2675466417, "IsLitigator": False}]),
            None,
            "bad_reply_duplicate_phone",
        ),  # repeated, with different verdicts
        (_ccc([]), None, "bad_reply_phone_mismatch"),
        ("", None, "bad_reply_not_json"),
        ("[" * 100_000, None, "bad_reply_not_json"),
        (b'[{"Phone": "\xff\xfe"}]', None, "bad_reply_not_json"),  # not UTF-8
        ('{"PhoneList": []}', None, "bad_reply_not_list"),
        ("null", None, "bad_reply_not_list"),
        (
            _ccc([{"Phone": 2675466417, "IsLitigator": False}, {"Phone": 7075276405, "IsLitigator": False}]),
            "text/html",
            "bad_reply_html",
        ),  # JSON under an HTML type: a page we cannot trust
    ],
)
def test_ccc_reply_of_an_unusual_form_fails_the_batch_with_its_kind(body, content_type, kind):
    with pytest.raises(RetryableError) as info:
        parse_litigator_reply(TWO, _body(body), content_type or "application/json")
    assert info.value.kind == kind


def test_ccc_reply_with_string_phones_and_a_lying_charset_is_read():
    """JSON names its own encoding: a declared charset (here one that does not exist) is not used."""
    body = _ccc([{"Phone": "2675466417", "IsLitigator": True}, {"Phone": 7075276405, "IsLitigator": False}])
    outcomes = parse_litigator_reply(TWO, body.encode(), "application/json; charset=no-such-charset")
    assert {p: str(o.status) for p, o in outcomes.items()} == {"2675466417": "litigator", "7075276405": "clear"}


def _ccc_client(handler) -> tuple[CccClient, httpx.Client]:
    policy = VendorCallPolicy(
        timeout_seconds=1,
        max_attempts=1,
        max_retry_seconds=1,
        backoff_initial_seconds=0.01,
        breaker_fail_max=100,
        breaker_reset_seconds=30,
    )
    client = CccClient(url="http://ccc.test/v1.5/Scrub/litigator", login_id="k", batch_size=10, policy=policy)
    return client, httpx.Client(transport=httpx.MockTransport(handler))


def test_ccc_a_refusal_no_number_explains_fails_the_batch_without_splitting_it():
    """A 405 for every batch: the old client bisected down to single phones and called each a "rejected
    number" (not a vendor failure), 2n-1 calls for nothing; the batch is one failure of its kind."""
    client, http = _ccc_client(lambda request: httpx.Response(405, text="Method Not Allowed"))
    phones = ["2675466417", "7075276405", "2015550123", "2125550188"]
    outcomes = client._scrub_batch(http, phones)
    assert {o.reason for o in outcomes.values()} == {"ccc_http_405"}
    assert client.stats.calls == 1 and client.stats.failed_calls == 1
    assert all(is_vendor_failure(kind_of(o.reason, "ccc")) for o in outcomes.values())


def test_ccc_a_redirect_stops_the_scrub_with_a_configuration_error():
    client, http = _ccc_client(lambda request: httpx.Response(302, headers={"Location": "https://elsewhere/"}))
    with pytest.raises(ConfigurationError):
        client._scrub_batch(http, ["2675466417"])
