"""How fast and how often: a token bucket for `--max-rate` and backoff between retries.

The link is shared with the rest of the crew and with the city, so a cap on bytes per second
must hold over any few seconds, not only on average over an hour: the bucket holds a quarter
of a second's worth of bytes at most. Retries wait a random time up to an exponentially growing
bound (full jitter), so many laptops cut off together do not all come back in the same second.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

from rushes.i18n import _

MIN_DELAY_S = 1.0
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_RATE = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,9})?)\s*([kmg]?)(?:i?b)?(?:/s)?", re.IGNORECASE)


def parse_rate(text: str) -> int:
    """Bytes per second from '256k', '1.5M', '500000' (k, M, G are powers of 1024)."""
    found = _RATE.fullmatch(text.strip())
    if not found or float(found.group(1)) <= 0:
        raise ValueError(
            _("{text} is not a rate: give bytes per second, like 256k or 2M").format(
                text=repr(text)
            )
        )
    return max(1, int(float(found.group(1)) * _UNITS[found.group(2).lower()]))


class TokenBucket:
    """At most `rate` bytes a second, with bursts of at most `burst` bytes."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(rate / 4, 1.0)
        self.clock, self.sleep = clock, sleep
        self.tokens = self.burst
        self.last = clock()

    def take(self, n: int) -> None:
        """Spend n bytes' worth, sleeping first if the bucket is in debt."""
        at = self.clock()
        self.tokens = min(self.burst, self.tokens + (at - self.last) * self.rate)
        self.last = at
        self.tokens -= n
        if self.tokens < 0:
            self.sleep(-self.tokens / self.rate)


class Backoff:
    """Delays for successive failures: uniform in [1, min(cap, first * 2**n)] seconds (never
    less than a second: a retry at once after a failure would only fail again)."""

    def __init__(
        self, first: float = 1.0, cap: float = 60.0, rng: random.Random | None = None
    ) -> None:
        self.first, self.cap = first, cap
        self.rng = rng or random.Random()
        self.failures = 0

    def next(self) -> float:
        bound = min(self.cap, self.first * 2 ** min(self.failures, 32))
        self.failures += 1
        return self.rng.uniform(MIN_DELAY_S, max(MIN_DELAY_S, bound))

    def reset(self) -> None:
        self.failures = 0
