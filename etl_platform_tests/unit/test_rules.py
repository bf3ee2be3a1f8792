"""Phone normalisation and the verdict rule: properties over generated inputs (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etl_platform.core.phones import is_valid_nanp, mask, nanp_structure_error, normalise
from etl_platform.core.verdict import Dnc, Litigator, ScrubOutcome, decide

area = st.integers(200, 999).filter(lambda n: n % 100 != 11).map(str)
exchange = st.integers(200, 999).map(str)
line = st.integers(0, 9999).map(lambda n: f"{n:04d}")
valid_number = st.tuples(area, exchange, line).map("".join).filter(lambda d: nanp_structure_error(d) is None)


@given(valid_number, st.sampled_from(["{a}{e}{l}", "({a}) {e}-{l}", "1-{a}-{e}-{l}", "+1 {a}.{e}.{l}", "1{a}{e}{l}"]))
def test_any_punctuation_of_a_valid_number_normalises_to_its_digits(number, template):
    raw = template.format(a=number[:3], e=number[3:6], l=number[6:])
    assert normalise(raw).phone == number


@given(st.text(max_size=20))
def test_normalise_never_crashes_and_only_returns_valid_numbers(raw):
    result = normalise(raw)
    assert (result.phone is None) != (result.reason is None)
    if result.phone is not None:
        assert is_valid_nanp(result.phone)


@given(st.integers(0, 1), st.integers(0, 9), st.integers(0, 99), exchange, line)
def test_area_codes_starting_with_0_or_1_are_invalid(first, second, _, exch, ln):
    assert normalise(f"{first}{second}5{exch}{ln}").phone is None


@given(st.integers(2, 9), exchange, line)
def test_n11_area_codes_are_invalid(digit, exch, ln):
    assert normalise(f"{digit}11{exch}{ln}").phone is None


@given(area, st.integers(100, 199))
def test_fictional_555_01xx_numbers_are_invalid(a, tail):
    assert normalise(f"{a}5550{tail - 100 + 100:03d}").reason == "fictional"


def test_exchange_starting_with_0_or_1_is_invalid():
    assert normalise("2671234567").reason == "bad_exchange"
    assert normalise("2670234567").reason == "bad_exchange"


def test_documented_ccc_numbers_are_valid():
    for number in ("2675466417", "5039367187", "7075276405"):
        assert normalise(number).phone == number


@given(valid_number)
def test_mask_hides_all_but_the_last_two_digits(number):
    masked = mask(number)
    assert number not in masked and masked.endswith(number[-2:]) and len(masked) == 10


statuses_lit = st.one_of(st.sampled_from(list(Litigator)), st.text(max_size=8))
statuses_dnc = st.one_of(st.sampled_from(list(Dnc)), st.text(max_size=8))
outcome_lit = st.one_of(st.none(), st.builds(ScrubOutcome, statuses_lit, st.one_of(st.none(), st.text(max_size=5))))
outcome_dnc = st.one_of(st.none(), st.builds(ScrubOutcome, statuses_dnc, st.one_of(st.none(), st.text(max_size=5))))


@given(st.one_of(st.none(), valid_number), outcome_lit, outcome_dnc)
def test_callable_only_when_both_scrubs_are_clear(phone, lit, dnc):
    verdict = decide(phone, lit, dnc)
    both_clear = (
        phone is not None
        and lit is not None
        and dnc is not None
        and lit.status == Litigator.CLEAR
        and dnc.status == Dnc.CLEAR
    )
    assert verdict.callable is both_clear
    assert (verdict.block_reason is None) is verdict.callable


def test_unknowns_carry_their_reason():
    verdict = decide("2675466417", ScrubOutcome("unknown", "ccc_timeout"), ScrubOutcome("listed"))
    assert verdict.block_reason == "LITIGATOR_UNKNOWN:ccc_timeout;DNC_LISTED"
    assert decide("2675466417", None, ScrubOutcome("clear")).block_reason == "LITIGATOR_UNKNOWN:not_scrubbed"
    assert decide(None, ScrubOutcome("clear"), ScrubOutcome("clear")).block_reason == "NO_PHONE"
