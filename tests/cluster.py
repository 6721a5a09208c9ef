"""Several zhongnao workers behind nginx, as deployed (docs/operations.md): `zhongnao serve
--workers 2` (one embedded Redis started by the parent, one database) and Debian's nginx
started as the test user on loopback with deploy/nginx/zhongnao.conf, its ports rewritten.
Used by tests/test_multiprocess*.py and bench/multiprocess.py."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from dashboard.channels import Channels
from dashboard.settings import Settings
from tests.browser import ROOT, post_report, seed_source_keys, wait_until

NGINX_CONF = ROOT / "deploy" / "nginx" / "zhongnao.conf"


def nginx_binary() -> str | None:
    """Debian's nginx, None where it is not installed (tools/ensure_nginx.sh installs it)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def free_pair() -> int:
    """A port P with P and P+1 both free (serve --workers 2 listens on both)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def health(base: str) -> dict[str, Any] | None:
    """The worker's /api/health, None when it does not answer."""
    import json

    try:
        with urllib.request.urlopen(f"{base}/api/health", timeout=1) as resp:
            return dict(json.loads(resp.read()))
    except (OSError, ValueError):
        return None


def stored_titles(settings: Settings, prefix: str) -> dict[str, int]:
    """How many work orders the database holds of each title starting with `prefix` (a
    report lost is missing, one doubled counts 2)."""
    from sqlalchemy import func, select

    from datasources.sql import models as m
    from datasources.sql.engine import make_engine

    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(m.Incident.title, func.count())
                                .where(m.Incident.title.like(f"{prefix}%"))
                                .group_by(m.Incident.title)).all()
    finally:
        engine.dispose()
    return {t: n for t, n in rows}


def post(base: str, i: int, key: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """tests.browser.post_report through nginx: a request nginx had sent to a worker that
    died before answering is nginx's own 502 page (HTML, not JSON); (502, {}, {}) then, and
    the report may or may not have been committed (its Idempotency-Key settles a retry)."""
    try:
        return post_report(base, i, key)
    except ValueError:
        return 502, {}, {}


def render_nginx(folder: Path, listen: int, upstreams: list[int]) -> Path:
    """nginx's main configuration around deploy/nginx/zhongnao.conf, every path in `folder`."""
    site = NGINX_CONF.read_text(encoding="utf-8")
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n"
                      for p in upstreams)
    site, n = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+[^\n]*\n(?:    server [^\n]*\n)*",
                      servers, site, count=1)
    assert n == 1, "no upstream servers in deploy/nginx/zhongnao.conf"
    site, n = re.subn(r"(?m)^    listen 80;", f"    listen 127.0.0.1:{listen};", site)
    assert n == 1, "no `listen 80;` in deploy/nginx/zhongnao.conf"
    (folder / "zhongnao.conf").write_text(site, encoding="utf-8")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers need the test's folders
    main = f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;
    include {folder}/zhongnao.conf;
}}
"""
    conf = folder / "nginx.conf"
    conf.write_text(main, encoding="utf-8")
    return conf


@dataclass
class Cluster:
    """`serve --workers 2` and nginx in front; `ports[i]` is worker i's port."""

    settings: Settings
    folder: Path
    ports: list[int]
    nginx_port: int
    serve: subprocess.Popen[bytes] | None = None
    nginx: subprocess.Popen[bytes] | None = None
    pids: dict[int, int] = field(default_factory=dict)  # worker number -> pid
    log: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The address the screens use: nginx."""
        return f"http://127.0.0.1:{self.nginx_port}"

    def worker(self, i: int) -> str:
        """Worker i's own address (to pin a screen to it)."""
        return f"http://127.0.0.1:{self.ports[i]}"

    @property
    def redis_url(self) -> str:
        """The one Redis the parent started for its workers."""
        return f"unix://{self.folder / 'data' / 'redis.sock'}"

    def redis(self) -> redis.Redis:
        """A client of the workers' Redis."""
        return redis.Redis.from_url(self.redis_url)

    def leader(self) -> int | None:
        """The worker holding the leader lease (by its health), None if none says so."""
        leaders = [i for i in range(len(self.ports))
                   if (h := health(self.worker(i))) and h.get("leader")]
        return leaders[0] if len(leaders) == 1 else None

    def sweep_runs(self) -> dict[int, int]:
        """Sweep rounds counted per period (datasources/redis/publisher.count_sweep)."""
        client = self.redis()
        try:
            raw = client.hgetall(Channels(self.settings.redis_prefix).sweep_runs)
        finally:
            client.close()
        return {int(k): int(v) for k, v in raw.items()}

    def kill(self, i: int) -> None:
        """kill -9 worker i (the parent starts it again a second later)."""
        os.kill(self.pids[i], signal.SIGKILL)

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            found = re.match(r"worker (\d+) pid (\d+) on ", line)
            if found:
                self.pids[int(found[1])] = int(found[2])


def worker_env(settings: Settings, folder: Path, **extra: str) -> dict[str, str]:
    """The workers' environment: the test's database and key prefix, the parent's own
    embedded Redis (REDIS_URL unset), a short sweep period and leader lease."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"ZN_DATA_DIR": str(folder / "data"), "DATABASE_URL": settings.db_url,
                "ZN_REDIS_PREFIX": settings.redis_prefix, "ZN_LOG_LEVEL": "WARNING",
                "ZN_DEDUP_METERS": "0", "ZN_TRUSTED_PROXIES": "127.0.0.1",
                "ZN_SWEEP_S": "4", "ZN_LEADER_TTL_S": "2", **extra})
    return env


@contextlib.contextmanager
def cluster(settings: Settings, folder: Path, start_s: float = 60,
            **extra: str) -> Iterator[Cluster]:
    """Start `zhongnao serve --workers 2` and nginx (waiting up to `start_s` for the
    workers); stop both after."""
    nginx = nginx_binary()
    assert nginx, "nginx missing (tools/ensure_nginx.sh)"
    first = free_pair()
    c = Cluster(settings, folder, [first, first + 1], free_pair())
    (folder / "nginx").mkdir(parents=True, exist_ok=True)
    conf = render_nginx(folder / "nginx", c.nginx_port, c.ports)
    c.serve = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--workers", "2",
                                "--port", str(first)], cwd=ROOT,
                               env=worker_env(settings, folder, **extra),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    threading.Thread(target=c._read, args=(c.serve.stderr,), daemon=True).start()
    try:
        c.nginx = subprocess.Popen([nginx, "-p", str(folder / "nginx"), "-c", str(conf),
                                    "-g", "daemon off;"], stderr=subprocess.PIPE)
        wait_until(lambda: all(health(c.worker(i)) for i in range(2)), start_s,
                   "both workers to answer")
        wait_until(lambda: health(c.base) is not None, 10, "nginx to answer")
        from datasources.sql.accounts import Accounts
        from datasources.sql.engine import make_engine

        engine = make_engine(settings.db_url)
        try:
            seed_source_keys(Accounts(engine))
        finally:
            engine.dispose()
        wait_until(lambda: c.leader() is not None, 15, "one leader")
        yield c
    finally:
        if c.nginx is not None:
            c.nginx.terminate()
            c.nginx.wait(timeout=10)
        if c.serve.poll() is None:
            c.serve.terminate()
            try:
                c.serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(c.serve.pid, signal.SIGKILL)
                c.serve.wait()
        for pid in c.pids.values():  # a worker the parent could not stop
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
