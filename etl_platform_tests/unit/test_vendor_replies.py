"""The vendor replies as the clients parse them: what breaks the contract is an error (retried, then
unknown), never "no phones" or "clear". Plain functions over plain payloads: no server."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from etl_platform.adapters.vendors.base import RetryableError, as_vendor_error
from etl_platform.adapters.vendors.ccc import parse_litigator_reply
from etl_platform.adapters.vendors.idicore import parse_search_reply


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


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), "connection"),
        (aiohttp.ClientPayloadError("truncated"), "connection"),
        (aiohttp.ServerTimeoutError(), "timeout"),  # both a ClientError and a TimeoutError: a timeout
        (TimeoutError(), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
    ],
)
def test_transport_failures_of_either_http_library_are_retryable_with_their_kind(exc, kind):
    err = as_vendor_error(exc)
    assert isinstance(err, RetryableError) and err.kind == kind


def test_an_unexpected_exception_is_not_turned_into_a_vendor_error():
    with pytest.raises(KeyError):
        as_vendor_error(KeyError("bug"))
