"""A Redis that fails over, on loopback, as docs/operations.md deploys it across two hosts:
a primary, a replica and three sentinels (Debian's redis-server and redis-sentinel,
installed by tools/ensure_sentinel.sh). Used by tests/test_sentinel*.py and
bench/failover.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.settings import sentinel_url
from datasources.redis import connect

MASTER = "zhongnao"
DOWN_AFTER_MS = 1000  # a primary silent this long is down for a sentinel
SKIP_REASON = ("redis-sentinel is not installed (Debian package redis-sentinel; `make test` "
               "runs tools/ensure_sentinel.sh): the failover tests need it")


def binaries() -> tuple[str, str] | None:
    """(redis-server, redis-sentinel) of the machine, None where either is missing."""
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    sentinel = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
    if os.access(server, os.X_OK) and os.access(sentinel, os.X_OK):
        return server, sentinel
    return None


def free_ports(n: int) -> list[int]:
    """`n` loopback ports free now (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class SentinelSet:
    """One primary, one replica, three sentinels; `servers` maps port -> process."""

    folder: Path
    server_ports: list[int]
    sentinel_ports: list[int]
    servers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)
    password: str = ""  # the servers' requirepass/masterauth, "" for none
    sentinel_password: str = ""  # the sentinels' own requirepass

    def addr(self, port: int) -> str:
        """A plain URL of one server or sentinel (with its password, when it has one)."""
        secret = self.sentinel_password if port in self.sentinel_ports else self.password
        return f"redis://:{secret}@127.0.0.1:{port}" if secret else f"redis://127.0.0.1:{port}"

    def _auth_args(self) -> list[str]:
        return ["--requirepass", self.password, "--masterauth", self.password] \
            if self.password else []

    @property
    def setting(self) -> str:
        """REDIS_SENTINELS for the product."""
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    @property
    def url(self) -> str:
        """The product's sentinel:// address (dashboard/settings.sentinel_url)."""
        return sentinel_url(tuple(("127.0.0.1", p) for p in self.sentinel_ports), MASTER,
                            self.password, self.sentinel_password)

    def env(self) -> dict[str, str]:
        """The settings a server process needs to use this Redis."""
        return {"REDIS_SENTINELS": self.setting, "REDIS_MASTER": MASTER,
                "REDIS_PASSWORD": self.password,
                "REDIS_SENTINEL_PASSWORD": self.sentinel_password}

    def primary(self) -> int | None:
        """Port of the primary the sentinels name now."""
        found = connect.primary(self.url)
        return int(found.rsplit(":", 1)[1]) if found else None

    def kill_primary(self) -> tuple[int, float]:
        """kill -9 the primary; (its port, time.monotonic() of the kill)."""
        port = self.primary()
        assert port is not None, "no primary named by the sentinels"
        proc = self.servers[port]
        at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        return port, at

    def wait_promoted(self, old: int, timeout: float = 30.0) -> int:
        """Wait until the sentinels name a primary other than `old` that answers as one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary()
            if port is not None and port != old and self._role(port) == "master":
                return port
            time.sleep(0.02)
        raise AssertionError(f"no replica promoted within {timeout} s:\n{self.logs()}")

    def restart_as_replica(self, port: int, timeout: float = 30.0) -> None:
        """Start the killed server `port` again as a replica of the primary now (as an
        operator brings a failed host back), and wait until it follows and every sentinel
        counts it as a replica that is up."""
        found = binaries()
        assert found
        primary = self.primary()
        assert primary is not None and primary != port
        self.servers[port] = subprocess.Popen(
            [found[0], "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no",
             "--logfile", str(self.folder / f"redis-{port}.log"),
             "--replicaof", "127.0.0.1", str(primary), *self._auth_args()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def following() -> bool:
            client = connect.client(self.addr(port), timeout=0.5)
            try:
                return client.info("replication").get("master_link_status") == "up"
            finally:
                client.close()

        def counted(sentinel: int) -> bool:
            client = connect.client(self.addr(sentinel), timeout=0.5)
            try:
                return any(int(r["port"]) == port and "s_down" not in r["flags"]
                           and "disconnected" not in r["flags"]
                           for r in client.sentinel_slaves(MASTER))
            finally:
                client.close()

        self._wait(following, timeout, f"server {port} to follow the primary {primary}")
        for sentinel in self.sentinel_ports:
            self._wait(lambda s=sentinel: counted(s), timeout,
                       f"sentinel {sentinel} to count {port} as a replica")

    def _role(self, port: int) -> str | None:
        client = connect.client(self.addr(port), timeout=0.5)
        try:
            return str(client.info("replication").get("role"))
        except Exception:
            return None
        finally:
            client.close()

    def logs(self) -> str:
        """The tail of every server's and sentinel's log (for a failing assertion)."""
        out = []
        for log in sorted(self.folder.glob("*.log")):
            out.append(f"--- {log.name}\n" + "\n".join(
                log.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(out)

    def _wait(self, check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if check():
                    return
            time.sleep(0.05)
        raise AssertionError(f"{what} not within {timeout} s:\n{self.logs()}")

    def _sentinel_ready(self, port: int) -> bool:
        client = connect.client(self.addr(port), timeout=0.5)
        try:
            master = client.sentinel_master(MASTER)
            return int(master["num-slaves"]) >= 1 and int(master["num-other-sentinels"]) >= 2
        finally:
            client.close()


@contextlib.contextmanager
def sentinel_set(folder: Path, password: str = "",
                 sentinel_password: str = "") -> Iterator[SentinelSet]:
    """Start the five processes on free loopback ports (the servers with `password`, the
    sentinels with `sentinel_password`, where given); stop them all after."""
    found = binaries()
    assert found, SKIP_REASON
    server, sentinel = found
    folder.mkdir(parents=True, exist_ok=True)
    ports = free_ports(5)
    s = SentinelSet(folder, ports[:2], ports[2:], password=password,
                    sentinel_password=sentinel_password)
    try:
        for n, port in enumerate(s.server_ports):
            args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(folder), "--daemonize", "no",
                    "--logfile", str(folder / f"redis-{port}.log"), *s._auth_args()]
            if n:
                args += ["--replicaof", "127.0.0.1", str(s.server_ports[0])]
            s.servers[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
        primary, replica = s.server_ports
        s._wait(lambda: s._role(primary) == "master", 10, "the primary to answer")
        replica_client = connect.client(s.addr(replica), timeout=0.5)
        try:
            s._wait(lambda: replica_client.info("replication").get("master_link_status")
                    == "up", 15, "the replica to follow the primary")
        finally:
            replica_client.close()
        # Started after the replica is in sync: a sentinel's first look at the primary
        # finds the replica at once (not at its next 10 s INFO round).
        for port in s.sentinel_ports:
            conf = folder / f"sentinel-{port}.conf"  # a sentinel rewrites its own file
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\ndaemonize no\n"
                f"logfile {folder / f'sentinel-{port}.log'}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
                + (f'sentinel auth-pass {MASTER} "{password}"\n' if password else "")
                + (f'requirepass "{sentinel_password}"\n' if sentinel_password else ""),
                encoding="utf-8")
            s.sentinels.append(subprocess.Popen([sentinel, str(conf)],
                                                stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL))
        for port in s.sentinel_ports:
            s._wait(lambda p=port: s._sentinel_ready(p), 20,
                    f"sentinel {port} to see the replica and the other sentinels")
        yield s
    finally:
        for proc in [*s.sentinels, *s.servers.values()]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*s.sentinels, *s.servers.values()]:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
