"""Threads for the people at screens, apart from the machines' traffic.

`asyncio.to_thread` runs everything in the event loop's one default pool: min(32, cores + 4)
threads, 6 on two cores. The doors' work waits on Redis, each sync call up to 3 s when Redis
holds its connections and never answers (SIGSTOP, swapping), and sources send and retry as
fast as they like. With Redis frozen, six sources reporting at once filled that pool, and a
wall's Dash callbacks, the gate's credential look-ups and a sign-in queued behind them: a
kiosk's bus board answered after 8.8 s, a sign-in not within 10 s (tests/test_faults.py).

So the gate (who is asking), every sync Dash callback, the duty console's queue and the
sign-in run in a pool of their own: what the machines send can hold the default pool's
threads, never these. Their own work reads and writes the database; a console action that
announces on Redis holds one of them for at most that call's timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

SCREEN_THREADS = 32
# Made at import, threads started on demand; shared by every app of the process.
_SCREENS = ThreadPoolExecutor(max_workers=SCREEN_THREADS, thread_name_prefix="zn-screens")


async def for_screens(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`asyncio.to_thread(func, *args, **kwargs)` in the screens' own threads, with the
    caller's context (the principal, Dash's callback context) as to_thread passes it."""
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_SCREENS, call)
