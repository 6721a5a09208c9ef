"""A PostgreSQL cluster of one test's own, served on a free port, so a fault test can stop
it, kill it and start it again without touching the machine's shared server (or
DATABASE_URL's). initdb runs once per session; each test's cluster is a copy of that one.
The `private_pg` fixture in conftest.py hands it out.

Debian's binaries (/usr/lib/postgresql/<version>/bin, package `postgresql`) are used, the
newest version present. initdb and postgres refuse to run as root; tests run as root in
containers and on CI, so there the cluster belongs to the `postgres` account (or `nobody`)
and every command runs as that account (runuser). The folders are made with mkdtemp in
/dev/shm (or the system's temp dir), not in pytest's tmp_path: pytest's /tmp/pytest-of-root
is root's alone (mode 0700) and the cluster's owner could not reach it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.browser import free_port


@contextlib.contextmanager
def new_database(server_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database on `server_url`'s PostgreSQL server (a copy of `template`, or empty),
    named `prefix` and a random suffix, dropped afterwards with its sessions ended; yields
    its URL. The tests' databases (conftest.py) and the benches' scratch ones."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n"), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


DEBIAN_PG = Path("/usr/lib/postgresql")
# Speed over durability against a machine crash: a test's cluster never outlives the test.
# Not synchronous_commit=off: that acknowledges a commit before its WAL reaches the OS, so
# `kill()` (a crashed server, not a crashed machine) would lose acknowledged reports and the
# fault tests would blame the product for it.
FAST = ("-c", "fsync=off", "-c", "full_page_writes=off")
DB = "zhongnao"


def newest_bin_dir() -> Path | None:
    """The bin folder of the newest PostgreSQL Debian installed, None without one."""
    found = [d / "bin" for d in DEBIAN_PG.glob("*") if (d / "bin" / "initdb").exists()]
    if not found:
        return None

    def version(bin_dir: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", bin_dir.parent.name))

    return max(found, key=version)


def cluster_owner() -> str | None:
    """The account the cluster runs as: None for the current one; a non-root account when
    we are root (initdb: "cannot be run as root"). Raises LookupError if there is none."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise LookupError("running as root and no postgres or nobody account to own a cluster")


def scratch_dir() -> str | None:
    """/dev/shm when it has room, else None (the system's temp dir). In memory a copy of the
    template and a start take 0.2 s; on a disk other jobs are writing to, 2 s."""
    try:
        shm = os.statvfs("/dev/shm")
    except OSError:
        return None
    roomy = shm.f_bavail * shm.f_frsize >= 512 * 1024 * 1024  # a cluster is about 40 MB
    return "/dev/shm" if roomy and os.access("/dev/shm", os.W_OK) else None


def owned_folder(owner: str | None) -> Path:
    """A fresh folder in memory or in the system's temp dir that `owner` may write."""
    root = Path(tempfile.mkdtemp(prefix="zn-pg-", dir=scratch_dir()))
    if owner is not None:
        user = pwd.getpwnam(owner)
        os.chown(root, user.pw_uid, user.pw_gid)
    return root


def run_as(owner: str | None, cwd: Path, *command: str, stdin: str | None = None) -> None:
    """Run `command` as `owner` (None: as we are); raise with its output if it fails."""
    as_owner = ["runuser", "-u", owner, "--"] if owner else []
    done = subprocess.run([*as_owner, *command], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=60, check=False)
    if done.returncode != 0:
        log = cwd / "postgres.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                           f"{done.stdout}{done.stderr}{tail}")


def initdb(bin_dir: Path, owner: str | None, db: str = DB) -> Path:
    """A new, stopped cluster's data folder with the database `db` (in a folder of its own:
    remove its parent). Tests copy it: initdb and CREATE DATABASE take 2-4 s on a busy
    machine, a copy and a start a few tenths."""
    root = owned_folder(owner)
    data = root / "data"
    run_as(owner, root, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
           "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
    # Single-user mode: the database is made without starting a server on a port.
    run_as(owner, root, str(bin_dir / "postgres"), "--single", "-D", str(data), *FAST,
           "postgres", stdin=f'CREATE DATABASE "{db}";\n')
    return data


class PrivatePostgres:
    """One cluster: `url` (SQLAlchemy, psycopg 3, the database `zhongnao`), `start()`,
    `stop()` (a clean fast shutdown: connections are cut, new ones refused), `kill()`
    (SIGKILL to the postmaster and its backends, as a crash or the OOM killer would) and
    `close()` (stopped and its folder removed). Its data folder is a copy of `template`
    (`initdb`'s, with the database `zhongnao`)."""

    def __init__(self, bin_dir: Path, owner: str | None, template: Path):
        self.bin, self.owner = bin_dir, owner
        self.root = owned_folder(owner)
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DB}"
        # cp -a keeps the owner and the mode (0700) postgres insists on.
        subprocess.run(["cp", "-a", str(template), str(self.data)], check=True)
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        run_as(self.owner, self.root, str(self.bin / tool), *args)

    def start(self) -> None:
        """Start the server on its port (127.0.0.1 only, its socket in its own folder) and
        wait until it takes connections; after `kill()` this is crash recovery."""
        options = " ".join(["-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
                            "-k", str(self.root), *FAST])
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "30", "-o", options)

    def stop(self) -> None:
        """Shut the server down (fast: open connections are cut); returns once it is down."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, None when the server is down."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return pid

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend (a backend left behind would keep the
        shared memory and the next start would refuse); returns once all are gone."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        group = [pid, *children_of(pid)]
        for p in group:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        # Gone means reaped: the next postmaster takes a pid that still exists, even a
        # zombie's, for a server still running in the folder and refuses to start.
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in group) and time.monotonic() < deadline:
            time.sleep(0.02)
        if Path(f"/proc/{pid}").exists():  # never reaped: its lock file is stale all the same
            (self.data / "postmaster.pid").unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the server (killed if a clean stop fails) and remove its folder."""
        try:
            if self.postmaster_pid() is not None:
                try:
                    self.stop()
                except (RuntimeError, subprocess.TimeoutExpired):
                    self.kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids

