"""Crafted vendor replies and inputs, through the real parsers: each one a way a reply that does not vouch
for exactly a number could have become "clear" or put another person's phones on a lead. Plain functions
over plain bytes: no server."""

from __future__ import annotations

import pytest

from etl_platform.adapters.vendors.base import RetryableError
from etl_platform.adapters.vendors.ccc import parse_litigator_reply
from etl_platform.adapters.vendors.idicore import parse_search_reply, search_payload
from etl_platform.core.phones import normalise

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


@pytest.mark.parametrize(
    "raw",
    [
        "02675466417",  # 11 digits without the 1: phonenumbers kept the zero aside and the int lost it
        "002675466417",
        "+1 (0) 267-546-6417",
        "1-0-267-546-6417",
        "112675466417",  # two leading 1s: a country code and then a "national prefix"
        "+1 1 267 546 6417",
    ],
)
def test_a_number_with_digits_beyond_a_leading_1_is_not_normalised_to_a_valid_one(raw):
    # DESIGN: strip non-digits, drop a leading 1: what is left must be the 10 digits. An idiCORE number
    # carrying more digits than that is not the number it shortens to, whatever the library makes of it.
    assert normalise(raw).phone is None


@pytest.mark.parametrize(
    "raw",
    [
        "+1 267 546 6417",
        "1 (267) 546-6417",
        "tel:+1-267-546-6417",
        "267-546-6417 ext 5",  # an extension is the same line's, dialled after it answers
        "267-546-6417;ext=12",
        "\uff12\uff16\uff17\uff15\uff14\uff16\uff16\uff14\uff11\uff17",  # full-width digits: the same digits
    ],
)
def test_the_forms_of_the_number_itself_still_normalise(raw):
    assert normalise(raw).phone == LITIGATOR


def test_an_idicore_number_with_an_extra_leading_zero_is_dropped_not_attached():
    payload = {"result": [{"phone": [{"number": "0267-546-6417", "meta": {"rank": 1}}]}]}
    result = parse_search_reply("L1", payload)
    assert result.phones == () and result.dropped_invalid == 1


@pytest.mark.parametrize("order", [(True, False), (False, True)])
def test_a_number_one_entry_calls_disconnected_is_dropped_whatever_its_twin_says(order):
    # A disconnected number may have been given to someone else since: idiCORE saying so once is enough
    # not to attach it to this lead, in whichever form or order the other entry lists it.
    first, second = order
    payload = {
        "result": [
            {
                "phone": [
                    {"number": "2675466417", "disconnected": first, "meta": {"rank": 1}},
                    {"number": "(267) 546-6417", "disconnected": second, "meta": {"rank": 2}},
                    {"number": "707-527-6405", "disconnected": False, "meta": {"rank": 3}},
                ]
            }
        ]
    }
    result = parse_search_reply("L1", payload)
    assert [p.phone for p in result.phones] == [CLEAR]
    assert result.phones[0].rank == 1
    assert result.dropped_disconnected == 2
