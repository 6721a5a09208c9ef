"""Fuzz every door with 10,000 inputs each (issue 12): the strategies and doors of
tests/fuzz_doors.py, the app in-process on a scratch SQLite and an embedded Redis (or
REDIS_URL), the JT/T 808 gateway on a free port.

    .venv/bin/python bench/fuzz.py                      # 10,000 per door
    .venv/bin/python bench/fuzz.py --examples 500 --door jt808 --door callbacks

Prints per door: inputs, seconds, inputs/s, answers by status class and the most common
reasons, 5xx, crashes and log records at ERROR or above; then whether each door still takes
a good input. Exit code 1 if any door gave a 5xx, crashed, refused without a reason or
logged an error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.settings import Settings  # noqa: E402
from datasources.redis.embedded import EmbeddedRedis  # noqa: E402
from tests.browser import free_port  # noqa: E402
from tests.fuzz_doors import DOOR_NAMES, Tally, open_doors, run_door  # noqa: E402


def report(t: Tally) -> None:
    """One door's figures."""
    rate = t.inputs / t.seconds if t.seconds else 0.0
    crashes = t.classes["crash"]
    print(f"\n== {t.door}: {t.inputs} inputs in {t.seconds:.1f} s ({rate:.0f}/s); "
          f"5xx {t.five_xx}, crashes {crashes}, logged errors {len(t.logged)}, "
          f"failures {len(t.failures)}")
    print("   by class: " + ", ".join(f"{k} {v}" for k, v in sorted(t.classes.items())))
    print("   reasons:  " + ", ".join(f"{k} {v}" for k, v in t.reasons.most_common(8)))
    for line in t.failures[:5]:
        print("   FAIL " + line[:300])
    for line in t.logged[:5]:
        print("   LOG  " + line[:300])


def main() -> int:
    """Run the doors; 1 if any failed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=10_000, help="inputs per door")
    ap.add_argument("--door", action="append", choices=DOOR_NAMES,
                    help="only this door (repeatable; default every door)")
    args = ap.parse_args()
    # Refusals are WARNINGs and errors are counted per door: print neither as they come.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger().setLevel(logging.ERROR)
    data = tempfile.mkdtemp(prefix="zn-fuzz-")
    external = os.environ.get("REDIS_URL")
    embedded = None if external else EmbeddedRedis(data).start()
    url = external or embedded.url  # type: ignore[union-attr]
    settings = Settings.from_env(environ={}, data_dir=data, redis_url=url,
                                 redis_prefix=f"fuzz{uuid.uuid4().hex[:6]}", port=free_port(),
                                 dedup_meters=0, ingest_rate=0)
    tallies, wrong = [], []
    try:
        with open_doors(settings) as doors:
            print(f"{len(doors.callbacks)} callbacks x {len(doors.jars)} principals; "
                  f"{args.examples} inputs per door")
            for name in args.door or DOOR_NAMES:
                tally = run_door(doors, name, args.examples)
                report(tally)
                tallies.append(tally)
            wrong = doors.good_inputs_pass()
    finally:
        if embedded is not None:
            embedded.stop()
    print("\nafter the fuzz, each door took a good input" if not wrong else
          "\nafter the fuzz, refused good input: " + "; ".join(wrong))
    total = sum(t.inputs for t in tallies)
    bad = [t.door for t in tallies if not t.ok]
    print(f"{total} inputs over {len(tallies)} doors; "
          + ("every door clean" if not bad else f"FAILED: {', '.join(bad)}"))
    return 1 if bad or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
