"""What access control costs: argon2 hashing and sign-in, the gate's decision per request.

    .venv/bin/python bench/gate.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from app import create_app  # noqa: E402
from dashboard.settings import Settings  # noqa: E402
from datasources.gate.web import SESSION_COOKIE, AuthMiddleware, cookies  # noqa: E402
from datasources.redis.embedded import EmbeddedRedis  # noqa: E402


def main() -> None:
    """Print the figures."""
    data = tempfile.mkdtemp()
    redis_server = EmbeddedRedis(data).start()
    app = create_app(Settings.from_env(environ={}, data_dir=data, redis_url=redis_server.url,
                                       redis_prefix="gate"))
    try:
        with TestClient(app.server) as client:
            accounts = app.zn_services.accounts
            started = time.perf_counter()
            user = accounts.add_user("bench", "officer", "bench-password")
            print(f"argon2 hash (user add): {(time.perf_counter() - started) * 1000:.0f} ms")
            times = []
            for _ in range(5):
                started = time.perf_counter()
                accounts.authenticate("bench", "bench-password")
                times.append(time.perf_counter() - started)
            print(f"argon2 verify (sign-in): median {statistics.median(times) * 1000:.0f} ms")
            token = accounts.start_session(user)
            client.cookies.set(SESSION_COOKIE, token)
            for path in ("/api/health", "/api/whoami"):
                times = []
                for _ in range(1000):
                    started = time.perf_counter()
                    client.get(path)
                    times.append(time.perf_counter() - started)
                times.sort()
                print(f"GET {path} in-process with a session: p50 {times[500] * 1000:.2f} ms, "
                      f"p95 {times[950] * 1000:.2f} ms")
            gate = AuthMiddleware(None, app.zn_services, lambda: "")  # type: ignore[arg-type]
            scope = {"type": "http", "method": "GET", "path": "/_dash-layout",
                     "headers": [(b"cookie", f"{SESSION_COOKIE}={token}".encode())],
                     "client": ("127.0.0.1", 1), "query_string": b""}
            n = 20_000
            started = time.perf_counter()
            for _ in range(n):
                jar = cookies(scope)
                who = gate.resolve(scope, jar)
                gate.refuse(scope, "GET", "/_dash-layout", who, jar)
            print(f"gate decision (cookie, session looked up in the database, policy): "
                  f"{(time.perf_counter() - started) / n * 1e6:.1f} µs per request")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
