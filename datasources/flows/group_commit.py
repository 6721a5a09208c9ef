"""Group commit: one committer thread takes what callers submitted meanwhile as one batch.

While a batch commits, the next reports wait in the queue; the committer then takes them
all (up to `batch`, waiting at most `linger_ms` for more), so under a burst one transaction
carries many reports and a lone report is not delayed. Each caller blocks until its own
item's result is back, i.e. until the batch holding it is committed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Run `commit(items) -> results` (one result per item, in order) on batches of what
    concurrent callers `submit`; `batch` 1 commits each item alone in its caller's thread."""

    def __init__(self, commit: Callable[[Sequence[T]], Sequence[R]], batch: int = 100,
                 linger_ms: float = 0, name: str = "group-commit"):
        self.commit = commit
        self.batch = max(1, batch)
        self.linger_s = max(0.0, linger_ms) / 1000
        self.name = name
        self.batches = 0  # batches committed, and the items in them (the bench reads them)
        self.items = 0
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: T) -> R:
        """Commit `item` with whatever else is waiting; its result once committed."""
        return self.enqueue(item).result()

    def enqueue(self, item: T) -> Future[R]:
        """Queue `item` for the committer without waiting: its result once committed. Items
        queued one after another from one thread are committed in that order."""
        done: Future[R] = Future()
        if self.batch == 1 or threading.current_thread() is self._thread:
            try:  # alone (or from inside a batch's own work), in this thread
                done.set_result(self._commit([item])[0])
            except BaseException as exc:
                done.set_exception(exc)
            return done
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._queue.put((item, done))
        return done

    def close(self) -> None:
        """Stop the committer after the batches already submitted."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=10)

    def _commit(self, items: Sequence[T]) -> Sequence[R]:
        results = self.commit(items)
        if len(results) != len(items):
            raise RuntimeError(f"{self.name}: {len(results)} results for {len(items)} items")
        self.batches += 1
        self.items += len(items)
        return results

    def _take(self) -> list[tuple[T, Future[R]]] | None:
        """The next batch: the first waiting item, and what else comes within the linger."""
        first = self._queue.get()
        if first is None:
            return None
        taken = [first]
        deadline = time.monotonic() + self.linger_s
        while len(taken) < self.batch:
            try:
                left = deadline - time.monotonic()
                nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:  # closing: this batch is still committed
                self._queue.put(None)
                break
            taken.append(nxt)
        return taken

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            try:
                results = self._commit([item for item, _ in taken])
            except BaseException as exc:  # every caller of the batch hears of it
                log.exception("%s: a batch of %s failed", self.name, len(taken))
                for _, done in taken:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(taken, results, strict=True):
                done.set_result(result)
