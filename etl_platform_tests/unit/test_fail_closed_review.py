"""Crafted vendor replies and inputs, through the real parsers: each one a way a reply that does not vouch
for exactly a number could have become "clear" or put another person's phones on a lead. Plain functions
over plain bytes: no server."""

from __future__ import annotations

import pytest

from etl_platform.adapters.vendors.base import RetryableError
from etl_platform.adapters.vendors.ccc import parse_litigator_reply
from etl_platform.adapters.vendors.idicore import parse_search_reply, search_payload

LITIGATOR, CLEAR = "2675466417", "7075276405"


@pytest.mark.parametrize(
    "body",
    [
        # The same member twice in one object: json keeps the last, so "true, false" read as clear.
        b'[{"Phone": 2675466417, "IsLitigator": true, "IsLitigator": false}]',
        # Which phone does the flag belong to? The last Phone won, and the first one's answer was lost.
        b'[{"Phone": 7075276405, "Phone": 2675466417, "IsLitigator": false}]',
    ],
)
def test_ccc_reply_object_with_a_member_twice_is_a_bad_reply_never_clear(body):
    with pytest.raises(RetryableError) as err:
        parse_litigator_reply([LITIGATOR], body, "application/json")
    assert err.value.kind == "bad_reply_duplicate_key"


def test_idicore_reply_with_result_twice_is_a_bad_reply_not_the_second_persons_phones():
    body = b'{"result": [{"phone": [{"number": "2675466417"}]}], "result": [{"phone": [{"number": "7075276405"}]}]}'
    with pytest.raises(RetryableError) as err:
        parse_search_reply("L1", search_payload(body, "application/json"))
    assert err.value.kind == "bad_reply_duplicate_key"


def test_idicore_phone_entry_with_number_twice_is_a_bad_reply():
    body = b'{"result": [{"phone": [{"number": "2675466417", "number": "7075276405"}]}]}'
    with pytest.raises(RetryableError) as err:
        parse_search_reply("L1", search_payload(body))
    assert err.value.kind == "bad_reply_duplicate_key"


def test_distinct_members_still_parse():
    # the check is on repeated names within one object, not on the same name in different objects
    body = b'[{"Phone": 2675466417, "IsLitigator": true}, {"Phone": 7075276405, "IsLitigator": false}]'
    outcomes = parse_litigator_reply([LITIGATOR, CLEAR], body)
    assert outcomes[LITIGATOR].status == "litigator" and outcomes[CLEAR].status == "clear"
