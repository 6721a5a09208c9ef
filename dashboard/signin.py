"""The sign-in throttle's rules (pure; datasources/redis/login_throttle.py keeps the counts).

A lock-out per name let anyone deny a leader the console without knowing a password: five
wrong guesses from anywhere locked the name for everybody. Failures now count per name *and*
address, with a growing wait after a few free ones, so a guesser slows down only itself and
the right password from the user's own address still signs in. Failures for one name from
all addresses together are watched for bursts: a burst raises an alert, and while it lasts
only the addresses the user has signed in from before may try that name.
"""

from __future__ import annotations

FREE_FAILURES = 5          # wrong passwords per (name, address) before any wait
FIRST_WAIT_S = 15          # the wait after the last free failure; doubles with each more
MAX_WAIT_S = 900           # ... up to a quarter of an hour
FAILURE_MEMORY_S = 86_400  # a (name, address) with no failure for a day starts afresh
BURST_FAILURES = 20        # failures for one name, from all addresses, within BURST_WINDOW_S
BURST_WINDOW_S = 600
KNOWN_ADDRESSES = 20       # addresses remembered per name (most recent successful sign-ins)
KNOWN_FOR_S = 90 * 86_400


def backoff_s(failures: int) -> int:
    """Seconds the (name, address) must wait after its `failures`-th wrong password."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failures - FREE_FAILURES))


def wait_left(failures: int, last_failure: float, now: float) -> int:
    """Seconds still to wait (0: may try now), rounded up."""
    until = last_failure + backoff_s(failures)
    return 0 if until <= now else max(1, int(until - now + 0.999))
