"""Client-side pacing for a vendor that enforces its rate limit itself: requests evenly spaced (no burst),
a shared pause when the vendor answers 429 with Retry-After, and additive-increase / multiplicative-decrease
of the client's own rate after it, so a client set at (or above) the vendor's real limit settles just below
it instead of drawing 429 after 429.

Why not aiolimiter: its leaky bucket admits a full bucket at once (a one-second burst at start, which a
vendor enforcing a sliding one-second window answers with 429s) and has no public way to change the rate
while requests wait, which AIMD needs. The pacing here is a few lines: the next request's slot is the last
one's plus 1/rate.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field


@dataclass
class AdaptivePacer:
    """Evenly spaced slots at `rate` per second, never above `ceiling` (the configured limit)."""

    ceiling: float  # requests per second: IDICORE_RATE_LIMIT
    floor_share: float = 0.1  # the rate never drops below this share of the ceiling
    decrease: float = 0.5  # multiplicative decrease on a 429
    # additive increase: this share of the ceiling per second of 429-free pacing
    increase_per_second: float = 0.05
    clock: object = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.ceiling <= 0:
            raise ValueError("the rate must be positive")
        self.rate = self.ceiling
        self._next = 0.0
        self._paused_until = 0.0
        self._last_adjust = self.clock()
        self._lock = asyncio.Lock()
        self.slowdowns = 0  # times the rate was cut
        self.lowest_rate = self.ceiling
        self._granted: collections.deque[float] = collections.deque()
        self.peak_per_second = 0  # the most requests let through within one second

    def _recover(self, now: float) -> None:
        """Additive increase for the 429-free time since the last change (none while a pause lasts)."""
        if now <= self._last_adjust:
            return
        if self.rate < self.ceiling:
            earned = self.ceiling * self.increase_per_second * (now - self._last_adjust)
            self.rate = min(self.ceiling, self.rate + earned)
        self._last_adjust = now

    def current_rate(self) -> float:
        """The rate now, after the recovery earned since the last change."""
        self._recover(self.clock())
        return self.rate

    async def wait(self) -> None:
        """Wait for this request's slot."""
        async with self._lock:
            now = self.clock()
            self._recover(now)
            slot = max(now, self._next, self._paused_until)
            self._next = slot + 1.0 / self.rate
        delay = slot - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        self._count(self.clock())

    def _count(self, now: float) -> None:
        self._granted.append(now)
        while self._granted[0] <= now - 1.0:
            self._granted.popleft()
        self.peak_per_second = max(self.peak_per_second, len(self._granted))

    def rate_limited(self, retry_after: float | None) -> None:
        """The vendor answered 429: everyone waits Retry-After, then goes on at a lower rate. The 429s of
        requests that were already in flight when the first one came back cut the rate once, not each."""
        now = self.clock()
        pause = retry_after if retry_after is not None else 1.0
        if now >= self._paused_until:
            self._recover(now)
            self.rate = max(self.ceiling * self.floor_share, self.rate * self.decrease)
            self.lowest_rate = min(self.lowest_rate, self.rate)
            self.slowdowns += 1
        self._paused_until = max(self._paused_until, now + pause)
        self._next = max(self._next, self._paused_until)
        self._last_adjust = max(self._last_adjust, self._paused_until)  # no recovery credit while paused
