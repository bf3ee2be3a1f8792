"""Client-side pacing for a vendor that enforces its rate limit itself: requests evenly spaced (no burst),
a shared pause when the vendor answers 429 with Retry-After, and, when 429s come back again soon after,
additive-increase / multiplicative-decrease of the client's own rate, so a client set above the vendor's
real limit settles just below it instead of drawing 429 after 429.

Why not aiolimiter: its leaky bucket admits a full bucket at once (a one-second burst at start, which a
vendor enforcing a sliding one-second window answers with 429s) and has no public way to change the rate
while requests wait, which AIMD needs. The pacing here is a few lines: the next request's slot is the last
one's plus 1/rate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass, field


@dataclass
class AdaptivePacer:
    """Evenly spaced slots at `rate` per second, never above `ceiling` (the configured limit)."""

    ceiling: float  # requests per second: IDICORE_RATE_LIMIT, the vendor's limit
    # Paced this far below the limit: a vendor counting arrivals in a sliding one-second window sees the
    # network's and its own scheduling jitter, so requests evenly spaced at exactly its limit still land
    # 51 in some second now and then, and each 429 costs everyone a Retry-After pause (>= 1 s). The same margin
    # stretches the window of the client's own cap (`_window`). With it, a 20,000-lead day under the
    # sandbox's strict window reached utilisation 0.968 with 4 429s (bench sizes); a 3% margin measured worse
    # before the window's causes were traced and fixed (0.934), so 2% stays.
    headroom: float = 0.02
    floor_share: float = 0.1  # the rate never drops below this share of the ceiling
    decrease: float = 0.5  # multiplicative decrease on a repeated wave of 429s
    repeat_seconds: float = 10.0  # a wave of 429s this soon after the previous one cuts the rate
    # additive increase: this share of the ceiling per second of 429-free pacing
    increase_per_second: float = 0.05
    clock: object = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.ceiling <= 0:
            raise ValueError("the rate must be positive")
        if not 0 <= self.headroom < 1:
            raise ValueError("the headroom is a share of the rate, from 0 to below 1")
        self.top = self.ceiling * (1 - self.headroom)  # the fastest it paces
        self.rate = self.top
        self._next = 0.0
        self._paused_until = 0.0
        self._last_adjust = self.clock()
        self._lock = asyncio.Lock()
        self.slowdowns = 0  # times the rate was cut
        self.waves = 0  # waves of 429s (each paused everyone for Retry-After)
        self._last_wave = float("-inf")
        self.lowest_rate = self.ceiling
        self._granted: collections.deque[float] = collections.deque()
        self.peak_per_second = 0  # the most requests within one second (at their writes, once reported)

    def _recover(self, now: float) -> None:
        """Additive increase for the 429-free time since the last change (none while a pause lasts)."""
        if now <= self._last_adjust:
            return
        if self.rate < self.top:
            earned = self.ceiling * self.increase_per_second * (now - self._last_adjust)
            self.rate = min(self.top, self.rate + earned)
        self._last_adjust = now

    def current_rate(self) -> float:
        """The rate now, after the recovery earned since the last change."""
        self._recover(self.clock())
        return self.rate

    async def wait(self) -> float:
        """Wait for this request's slot; returns the time it was let through, for `sent`. A 429 that
        arrives while a request waits pauses it too: a slot handed out before the pause and falling inside
        it is given up for a new one after the pause (the requests already waiting would otherwise go out
        during the pause, into more 429s).

        Then the window (`_window`): never more than the vendor's limit let through in any one second
        plus the margin, in *actual* time. Slots are evenly spaced, but an event loop held up (the GIL
        taken by the cache writer's thread, a garbage collection) lets several overdue slots through
        together, and those bunches put 50 in a second that a strict sliding-window vendor refused (2 of
        1,925 searches, bench sizes). The window counts a request from when it was let through, and from
        when it was actually written once the caller says so (`sent`)."""
        while True:
            async with self._lock:
                now = self.clock()
                self._recover(now)
                slot = max(now, self._next, self._paused_until)
                self._next = slot + 1.0 / self.rate
            delay = slot - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._paused_until > slot:
                continue  # a 429 pause began while this request waited: a new slot after it
            while (room := self._window_wait(self.clock())) > 0:
                await asyncio.sleep(room)
            # no await between the window check and the count: no other request can pass in between
            granted = self.clock()
            self._count(granted)
            return granted

    def sent(self, granted: float) -> None:
        """The request let through at `granted` was written now: the window counts it from now. Between
        the two, the event loop can be held up (the cache writer's thread holding the GIL: up to 63 ms in a
        20,000-lead day, traced), and a request written late sits closer to the ones after it than the
        window saw; the vendor counts it where it arrived."""
        now = self.clock()
        with contextlib.suppress(ValueError):  # already out of the window: only the write counts
            self._granted.remove(granted)
        self._count(now)  # every stamp in the window is <= now: appending keeps it sorted

    def _window(self) -> tuple[float, int]:
        """The client's own cap: at most `cap` requests in any `span` seconds. The span is one second
        stretched by the headroom and the cap the rate over it: at full rate the vendor's limit (50 in
        1.0204 s at 50/s and 2%), so any limit + 1 requests in a row span the vendor's second plus a 20 ms
        margin, however they were bunched. A cap of `rate` per plain second let a bunch's successors go
        exactly one second after it, every second, at the vendor's limit with no margin at all: 9 of a
        20,000-lead day's searches were refused so, each one second after a bunch (bench sizes, traced)."""
        span = 1.0 / (1.0 - self.headroom)
        return span, max(1, int(self.rate * span + 1e-9))

    def _window_wait(self, now: float) -> float:
        """Seconds until one more request fits in the window of requests let through."""
        span, cap = self._window()
        while self._granted and self._granted[0] <= now - span:
            self._granted.popleft()
        if len(self._granted) < cap:
            return 0.0
        return self._granted[len(self._granted) - cap] + span - now

    def _count(self, now: float) -> None:
        self._granted.append(now)
        span, _ = self._window()
        while self._granted[0] <= now - span:
            self._granted.popleft()
        in_last_second = sum(1 for t in self._granted if t > now - 1.0)
        self.peak_per_second = max(self.peak_per_second, in_last_second)

    def rate_limited(self, retry_after: float | None) -> None:
        """The vendor answered 429: everyone waits Retry-After. The 429s of requests that were already in
        flight when the first one came back are one wave. A wave within `repeat_seconds` of the previous
        one means the limit is lower than we pace: the rate is cut. A lone wave is jitter at the vendor's
        clock (a request stamped a few ms early): the pause alone clears its window, and halving the rate
        for it cost a 200-lead day ~2.5 s of its 5 s of searching (bench backfill)."""
        now = self.clock()
        pause = retry_after if retry_after is not None else 1.0
        if now >= self._paused_until:
            self._recover(now)
            if now - self._last_wave <= self.repeat_seconds:
                self.rate = max(self.ceiling * self.floor_share, self.rate * self.decrease)
                self.lowest_rate = min(self.lowest_rate, self.rate)
                self.slowdowns += 1
            self._last_wave = now
            self.waves += 1
        self._paused_until = max(self._paused_until, now + pause)
        self._next = max(self._next, self._paused_until)
        self._last_adjust = max(self._last_adjust, self._paused_until)  # no recovery credit while paused
