"""JT/T 809: positions per second from one operator's platform through `zhongnao gateway
jt809` into Redis's latest state (what the hub, the tracker and the wall start from).

    .venv/bin/python bench/jt809.py [--buses 300] [--rounds 20] [--edition 2011|2019] [--cipher]

Starts an embedded Redis (or REDIS_URL, under a fresh prefix) and the gateway command with
an operators file of `--buses` plates in a scratch folder; a lower platform (the codec, one
TCP main link) logs in, then sends `rounds` real-time positions (0x1200/0x1202) per bus, a
second apart in fix time. Timed from the first byte sent until the latest-state hash holds
every bus's last fix; prints positions/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import free_port  # noqa: E402

from datasources.feeds.jt809 import bodies as b  # noqa: E402
from datasources.feeds.jt809 import codec as c  # noqa: E402
from datasources.redis.publisher import Publisher  # noqa: E402

ACCESS, USER, PASSWORD = 10001, 5001, "bench809"
KEYS = (30_000_000, 20_000_000, 20_000_000)


def main() -> None:
    """Run the bench and print the figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buses", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--edition", type=int, choices=c.EDITIONS, default=c.E2011)
    ap.add_argument("--cipher", action="store_true", help="encipher every body")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zn-jt809bench-"))
    embedded: Any = None
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        from datasources.redis.embedded import EmbeddedRedis

        embedded = EmbeddedRedis(tmp).start()
        redis_url = embedded.url
    prefix = f"b{uuid.uuid4().hex[:8]}"
    plates = [f"川F·B{i:05d}" for i in range(args.buses)]
    op: dict[str, Any] = {"name": "基准运营平台", "access_code": ACCESS, "user_id": USER,
                          "password": PASSWORD, "edition": args.edition, "plates": plates}
    if args.cipher:
        op["key"] = dict(zip(("m1", "ia1", "ic1"), KEYS, strict=True))
    (tmp / "operators.json").write_text(json.dumps({"operators": [op]}, ensure_ascii=False),
                                        encoding="utf-8")
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "ZN_REDIS_PREFIX": prefix,
           "ZN_DATA_DIR": str(tmp), "ZN_LOG_LEVEL": "WARNING"}
    gateway = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "gateway", "jt809", "--port", str(port),
         "--operators", str(tmp / "operators.json")], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL)
    bus = Publisher.from_url(redis_url, prefix)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline or gateway.poll() is not None:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.2)
        keys = c.Keys(*KEYS) if args.cipher else None
        serial = 0

        def frame(msg_id: int, body: bytes) -> bytes:
            nonlocal serial
            serial += 1
            return c.encode_frame(msg_id, ACCESS, serial, body, args.edition, keys=keys,
                                  key=serial)

        sock.sendall(frame(c.UP_CONNECT_REQ, b.encode_login(
            b.Login(USER, PASSWORD, "", 0, ACCESS), args.edition)))
        reply = c.decode_frame(c.Splitter().feed(sock.recv(4096))[0], args.edition, keys)
        assert b.parse_login_reply(reply.body)[0] == c.LOGIN_OK, "login refused"
        start_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=args.rounds)
        rounds = []
        for r in range(args.rounds):
            at = start_at + timedelta(seconds=r)
            rounds.append(b"".join(
                frame(c.UP_EXG_MSG, b.encode_envelope(b.Envelope(
                    plate, 2, c.UP_EXG_MSG_REAL_LOCATION, b.encode_location(
                        b.Gnss(104.40 + (i % 100) * 6e-4, 30.52 + (i // 100) * 6e-4, 30, 90,
                               at), args.edition))))
                for i, plate in enumerate(plates)))
        last = start_at + timedelta(seconds=args.rounds - 1)
        t0 = time.perf_counter()
        for data in rounds:
            sock.sendall(data)
        while True:
            latest = bus.latest_positions()
            if sum(1 for p in plates if p in latest and latest[p].at == last) == len(plates):
                break
            if time.perf_counter() - t0 > 300:
                raise SystemExit("timed out waiting for the last fixes")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        n = args.buses * args.rounds
        print(f"jt809 {args.edition}{' enciphered' if args.cipher else ''}: {n} positions of "
              f"{args.buses} buses in {elapsed:.2f} s = {n / elapsed:,.0f} positions/s")
        sock.close()
    finally:
        gateway.terminate()
        gateway.wait(10)
        bus.r.close()
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
