"""Phone normalisation to 10-digit NANP, and masking for logs.

`phonenumbers` does the parsing (punctuation, a leading +1/1, extensions, vanity letters); the structural
NANP rules of DESIGN.md are applied on top because `is_valid_number` also rejects numbers in area codes
that its metadata does not list yet, and a scrub must judge the number, not the library's release date.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True)
class Normalised:
    phone: str | None  # 10 digits when valid
    reason: str | None  # why not, when invalid


def normalise(raw: object) -> Normalised:
    """Return the 10-digit NANP form of `raw`, or the reason it is not a callable US number."""
    if raw is None:
        return Normalised(None, "missing")
    text = str(raw).strip()
    if not text:
        return Normalised(None, "missing")
    try:
        parsed = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return Normalised(None, "unparseable")
    if parsed.country_code != 1:
        return Normalised(None, "not_nanp")
    # The national significant number keeps the leading zeros phonenumbers holds apart (italian_leading_zero):
    # the bare integer dropped them, so "02675466417" and "+1 (0) 267..." came out as 2675466417.
    digits = phonenumbers.national_significant_number(parsed)
    if len(digits) != 10 or _extra_digits(text, parsed, digits):
        return Normalised(None, "wrong_length")
    reason = nanp_structure_error(digits)
    return Normalised(None, reason) if reason else Normalised(digits, None)


def _extra_digits(text: str, parsed: phonenumbers.PhoneNumber, digits: str) -> bool:
    """True when the input dials more than the number and one leading 1 (DESIGN: strip non-digits, drop a
    leading 1): phonenumbers also takes a second 1 as a national prefix ("1 1 267..."), which turns a
    number with a digit too many into a valid one. The extension's digits are its own; an input with fewer
    digits than the number is a vanity number (letters), judged by phonenumbers' conversion."""
    dialled = phonenumbers.normalize_digits_only(text)  # any script's decimal digits, as phonenumbers reads them
    if parsed.extension and dialled.endswith(parsed.extension):
        dialled = dialled[: -len(parsed.extension)]
    return len(dialled) >= len(digits) and dialled not in (digits, f"1{digits}")


def nanp_structure_error(digits: str) -> str | None:
    """The DESIGN.md rules for a 10-digit string; None when it is a well-formed callable NANP number."""
    if len(digits) != 10 or not digits.isdigit():
        return "wrong_length"
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    if area[0] in "01":
        return "bad_area_code"
    if area[1:] == "11":
        return "n11_area_code"
    if exchange[0] in "01":
        return "bad_exchange"
    if exchange == "555" and "0100" <= line <= "0199":
        return "fictional"
    return None


def is_valid_nanp(digits: object) -> bool:
    return isinstance(digits, str) and nanp_structure_error(digits) is None


def mask(phone: object) -> str:
    """Mask a phone for logs and metadata: only the last two digits survive."""
    text = "".join(ch for ch in str(phone or "") if ch.isdigit())
    if len(text) < 4:
        return "***"
    return "*" * (len(text) - 2) + text[-2:]
