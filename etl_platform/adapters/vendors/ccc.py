"""CCC (DNCScrub) litigator scrub: batched POSTs, strict reply checks, fail closed per batch.

Contract (DESIGN.md): header `loginId`, body `{"PhoneList": "a,b,c"}` of 10-digit numbers (<= 10,000),
reply a JSON array in input order of `{"Phone": <int>, "IsLitigator": <bool>}`. A 200 is not success by
itself (some hosts answer a bad key with an HTML login page); one malformed number can fail a batch
with 400, so a 400 is bisected to isolate it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import httpx

from etl_platform.adapters.vendors.base import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    VendorClient,
    VendorError,
    as_vendor_error,
    classify_status,
    loads_reply,
    read_capped_sync,
)
from etl_platform.core.phones import is_valid_nanp, mask
from etl_platform.core.settings import CCC_MAX_BATCH, VendorCallPolicy
from etl_platform.core.stages import LITIGATOR_SCRUB
from etl_platform.core.vendor_failures import BATCH_SPLIT, INVALID_NUMBER, REJECTED_NUMBER, scrub_reason
from etl_platform.core.verdict import Litigator, ScrubOutcome

log = logging.getLogger(__name__)
# The refusals one malformed number in a batch explains (DESIGN: a 400 can fail the whole batch; 413: too
# large), so the batch is split to isolate it. Any other 4xx fails the batch as it is.
SPLITTABLE = frozenset({"http_400", "http_413"})
# A reply for 10,000 phones is ~450 kB: one many times that is not a reply.
MAX_REPLY_BYTES = 16 * 1024 * 1024


def parse_litigator_reply(sent: Sequence[str], body: bytes, content_type: str = "") -> dict[str, ScrubOutcome]:
    """Verdicts for exactly the phones sent, or RetryableError("bad_reply_...") for the whole batch.

    `Phone` is an integer (the contract) or a string of ASCII digits; `IsLitigator` is JSON true or false,
    nothing else ("true", 1 and null are errors: none of them is an affirmative "clear")."""
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise RetryableError("bad_reply_html", "CCC answered with an HTML page (bad loginId or a proxy)")
    payload = loads_reply(body, "CCC")  # the encoding is JSON's own (UTF-8, -16 or -32), not a declared charset
    if not isinstance(payload, list):
        raise RetryableError("bad_reply_not_list", "CCC reply is not a JSON array")
    outcomes: dict[str, ScrubOutcome] = {}
    for item in payload:
        if not isinstance(item, dict):
            raise RetryableError("bad_reply_item", "CCC reply item is not an object")
        phone, flag = item.get("Phone"), item.get("IsLitigator")
        key = _phone_key(phone)
        if key is None or not isinstance(flag, bool):
            raise RetryableError("bad_reply_types", "CCC reply item has a non-integer Phone or non-boolean flag")
        if key in outcomes:
            raise RetryableError("bad_reply_duplicate_phone", "CCC reply lists a phone twice")
        outcomes[key] = ScrubOutcome(Litigator.LITIGATOR if flag else Litigator.CLEAR)
    if set(outcomes) != set(sent) or len(outcomes) != len(sent):
        raise RetryableError("bad_reply_phone_mismatch", "CCC reply does not cover exactly the phones sent")
    return outcomes


def _phone_key(phone: object) -> str | None:
    """A reply's Phone as the 10-digit string it was sent as (an integer loses the leading zeros a valid
    number never has), or None when it is neither a non-negative integer nor ASCII digits: a float, a
    boolean, a punctuated or non-ASCII string ("²" is a digit to str.isdigit, not to int)."""
    if isinstance(phone, int) and not isinstance(phone, bool) and phone >= 0:
        return f"{phone:010d}"
    if isinstance(phone, str) and phone.isascii() and phone.isdigit():
        return phone.zfill(10)
    return None


class CccClient(VendorClient):
    vendor = LITIGATOR_SCRUB.vendor

    def __init__(self, *, url: str, login_id: str, batch_size: int, policy: VendorCallPolicy):
        super().__init__(policy)
        self.url, self.login_id, self.batch_size = url, login_id, batch_size
        # phone -> when CCC's answer for it arrived (UTC, naive): the evidence of the litigator verdict.
        self.answered_at: dict[str, dt.datetime] = {}
        if not 1 <= self.batch_size <= CCC_MAX_BATCH:
            raise ValueError(f"CCC batch size must be between 1 and {CCC_MAX_BATCH}")

    def scrub(self, phones: Sequence[str]) -> dict[str, ScrubOutcome]:
        """A verdict for every phone given: litigator, clear, or unknown with the reason."""
        unique = list(dict.fromkeys(phones))
        outcomes = {p: ScrubOutcome(Litigator.UNKNOWN, INVALID_NUMBER) for p in unique if not is_valid_nanp(p)}
        valid = [p for p in unique if p not in outcomes]
        with httpx.Client(timeout=self.timeout) as http:
            for start in range(0, len(valid), self.batch_size):
                outcomes.update(self._scrub_batch(http, valid[start : start + self.batch_size]))
        return outcomes

    def _scrub_batch(self, http: httpx.Client, batch: list[str]) -> dict[str, ScrubOutcome]:
        try:
            return self._post_with_retries(http, batch)
        except PermanentError as err:
            if err.kind not in SPLITTABLE:
                # Refused for a reason no number explains (405, 415, ...): splitting would only multiply the
                # refusals and call every phone a rejected number, which is not a vendor failure.
                self.stats.failed_calls += 1
                return {p: ScrubOutcome(Litigator.UNKNOWN, scrub_reason(self.vendor, err.kind)) for p in batch}
            if len(batch) == 1:
                log.warning("CCC rejected the number %s; it stays unknown (blocked)", mask(batch[0]))
                return {batch[0]: ScrubOutcome(Litigator.UNKNOWN, scrub_reason(self.vendor, REJECTED_NUMBER))}
            # One bad number fails the whole batch: bisect to isolate it and scrub the rest.
            self.stats.errors[BATCH_SPLIT] = self.stats.errors.get(BATCH_SPLIT, 0) + 1
            middle = len(batch) // 2
            return self._scrub_batch(http, batch[:middle]) | self._scrub_batch(http, batch[middle:])
        except ConfigurationError:
            raise
        except VendorError as err:
            self.stats.failed_calls += 1
            return {p: ScrubOutcome(Litigator.UNKNOWN, scrub_reason(self.vendor, err.kind)) for p in batch}

    def _post_with_retries(self, http: httpx.Client, batch: list[str]) -> dict[str, ScrubOutcome]:
        for attempt in self.attempts():
            with attempt, self.guarded():
                return self._post(http, batch)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _post(self, http: httpx.Client, batch: list[str]) -> dict[str, ScrubOutcome]:
        self.stats.calls += 1
        request = {"json": {"PhoneList": ",".join(batch)}, "headers": {"loginId": self.login_id}}
        try:
            with http.stream("POST", self.url, **request) as response:
                if err := classify_status(response):
                    if isinstance(err, ConfigurationError):
                        raise ConfigurationError(
                            err.kind,
                            f"CCC answered HTTP {response.status_code}: check CCC_LOGIN_ID and CCC_LITIGATOR_URL",
                        )
                    raise err
                body = read_capped_sync(response, MAX_REPLY_BYTES)
                content_type = response.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            raise as_vendor_error(exc) from None
        outcomes = parse_litigator_reply(batch, body, content_type)
        answered = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.answered_at.update({p: answered for p, o in outcomes.items() if o.status != Litigator.UNKNOWN})
        return outcomes
