"""How hard providers press on this process with callbacks, for work that should make way.

Accepts that wait for their commit already tell the batcher a burst is on
(``Store.accepts_waiting_peak``). A callback that stores nothing itself (one that only wakes a
poller) never waits for a commit, so the webhook route notes each callback it answers here:
``BURST`` of them within ``WINDOW_S`` (400 a second) is a burst.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

BURST = 8
WINDOW_S = 0.02


class CallbackPressure:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._times: deque[float] = deque(maxlen=BURST)

    def answered(self) -> None:
        self._times.append(self._clock())

    def busy(self) -> bool:
        """Whether the last ``BURST`` callbacks all came within ``WINDOW_S`` from now."""
        return len(self._times) == BURST and self._times[0] >= self._clock() - WINDOW_S
