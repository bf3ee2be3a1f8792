"""CCC (DNCScrub) litigator scrub: batched POSTs, strict reply checks, fail closed per batch.

Contract (DESIGN.md): header `loginId`, body `{"PhoneList": "a,b,c"}` of 10-digit numbers (<= 10,000),
reply a JSON array in input order of `{"Phone": <int>, "IsLitigator": <bool>}`. A 200 is not success by
itself (some hosts answer a bad key with an HTML login page); one malformed number can fail a batch
with 400, so a 400 is bisected to isolate it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
import httpx
import pybreaker
from pydantic import Field
from tenacity import Retrying

from etl_platform.phones import is_valid_nanp, mask
from etl_platform.vendors.common import (
    BreakerOpen,
    BreakerSettings,
    ConfigurationError,
    PermanentError,
    RetryableError,
    RetrySettings,
    VendorError,
    VendorStats,
    as_vendor_error,
    classify_status,
    make_breaker,
    retry_kwargs,
)
from etl_platform.verdict import Litigator, ScrubOutcome

MAX_BATCH = 10_000
log = logging.getLogger(__name__)


def parse_litigator_reply(sent: Sequence[str], response: httpx.Response) -> dict[str, ScrubOutcome]:
    """Verdicts for exactly the phones sent, or RetryableError("bad_reply_...") for the whole batch."""
    content_type = response.headers.get("content-type", "")
    text = response.text
    if "html" in content_type or text.lstrip()[:1] == "<":
        raise RetryableError("bad_reply_html", "CCC answered with an HTML page (bad loginId or a proxy)")
    try:
        payload = response.json()
    except ValueError:
        raise RetryableError("bad_reply_not_json", "CCC reply is not JSON") from None
    if not isinstance(payload, list):
        raise RetryableError("bad_reply_not_list", "CCC reply is not a JSON array")
    outcomes: dict[str, ScrubOutcome] = {}
    for item in payload:
        if not isinstance(item, dict):
            raise RetryableError("bad_reply_item", "CCC reply item is not an object")
        phone, flag = item.get("Phone"), item.get("IsLitigator")
        if isinstance(phone, bool) or not isinstance(phone, int | str) or not isinstance(flag, bool):
            raise RetryableError("bad_reply_types", "CCC reply item has a non-integer Phone or non-boolean flag")
        key = f"{int(phone):010d}" if str(phone).isdigit() else str(phone)
        if key in outcomes:
            raise RetryableError("bad_reply_duplicate_phone", "CCC reply lists a phone twice")
        outcomes[key] = ScrubOutcome(Litigator.LITIGATOR if flag else Litigator.CLEAR)
    if set(outcomes) != set(sent) or len(outcomes) != len(sent):
        raise RetryableError("bad_reply_phone_mismatch", "CCC reply does not cover exactly the phones sent")
    return outcomes


@dataclass
class CccClient:
    url: str
    login_id: str
    batch_size: int = 5_000
    timeout: float = 30.0
    retry: RetrySettings = field(default_factory=RetrySettings)
    breaker_settings: BreakerSettings = field(default_factory=BreakerSettings)
    stats: VendorStats = field(default_factory=VendorStats)

    def __post_init__(self) -> None:
        self.breaker = make_breaker("ccc", self.breaker_settings, self.stats)
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"CCC batch size must be between 1 and {MAX_BATCH}")

    def scrub(self, phones: Sequence[str]) -> dict[str, ScrubOutcome]:
        """A verdict for every phone given: litigator, clear, or unknown with the reason."""
        unique = list(dict.fromkeys(phones))
        outcomes = {p: ScrubOutcome(Litigator.UNKNOWN, "invalid_number") for p in unique if not is_valid_nanp(p)}
        valid = [p for p in unique if p not in outcomes]
        with httpx.Client(timeout=self.timeout) as http:
            for start in range(0, len(valid), self.batch_size):
                outcomes.update(self._scrub_batch(http, valid[start : start + self.batch_size]))
        return outcomes

    def _scrub_batch(self, http: httpx.Client, batch: list[str]) -> dict[str, ScrubOutcome]:
        try:
            return self._post_with_retries(http, batch)
        except PermanentError:
            if len(batch) == 1:
                log.warning("CCC rejected the number %s; it stays unknown (blocked)", mask(batch[0]))
                return {batch[0]: ScrubOutcome(Litigator.UNKNOWN, "ccc_rejected_number")}
            # One bad number fails the whole batch: bisect to isolate it and scrub the rest.
            self.stats.errors["batch_split"] = self.stats.errors.get("batch_split", 0) + 1
            middle = len(batch) // 2
            return self._scrub_batch(http, batch[:middle]) | self._scrub_batch(http, batch[middle:])
        except ConfigurationError:
            raise
        except VendorError as err:
            self.stats.failed_calls += 1
            return {p: ScrubOutcome(Litigator.UNKNOWN, f"ccc_{err.kind}") for p in batch}

    def _post_with_retries(self, http: httpx.Client, batch: list[str]) -> dict[str, ScrubOutcome]:
        def on_retry(state) -> None:
            self.stats.retries += 1

        for attempt in Retrying(**retry_kwargs(self.retry, on_retry)):
            with attempt:
                try:
                    with self.breaker.calling():
                        return self._post(http, batch)
                except pybreaker.CircuitBreakerError:
                    self.stats.note_breaker_rejection()
                    raise BreakerOpen("breaker_open", "CCC circuit breaker is open") from None
                except VendorError as err:
                    self.stats.note_error(err)
                    raise
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _post(self, http: httpx.Client, batch: list[str]) -> dict[str, ScrubOutcome]:
        self.stats.calls += 1
        try:
            response = http.post(self.url, json={"PhoneList": ",".join(batch)}, headers={"loginId": self.login_id})
        except httpx.HTTPError as exc:
            raise as_vendor_error(exc) from None
        if err := classify_status(response):
            if isinstance(err, ConfigurationError):
                raise ConfigurationError(
                    err.kind, f"CCC answered HTTP {response.status_code}: check CCC_LOGIN_ID and CCC_LITIGATOR_URL"
                )
            raise err
        return parse_litigator_reply(batch, response)


class CccResource(dg.ConfigurableResource):
    """CCC litigator scrub, configured from CCC_* environment variables."""

    url: str
    login_id: str
    batch_size: int = Field(default=5_000, description="phones per request (<= 10,000)")
    timeout_seconds: float = 30.0
    max_attempts: int = 5
    max_retry_seconds: float = 60.0
    backoff_initial_seconds: float = 0.5
    breaker_fail_max: int = 10
    breaker_reset_seconds: float = 30.0

    def client(self) -> CccClient:
        return CccClient(
            url=self.url,
            login_id=self.login_id,
            batch_size=self.batch_size,
            timeout=self.timeout_seconds,
            retry=RetrySettings(
                max_attempts=self.max_attempts,
                max_seconds=self.max_retry_seconds,
                backoff_initial=self.backoff_initial_seconds,
            ),
            breaker_settings=BreakerSettings(self.breaker_fail_max, self.breaker_reset_seconds),
        )
