"""The chaos test under load: K runners against `kebas run`, SIGKILLed N times, on a faulty API.

Run: .venv/bin/python bench/chaos.py [--runners K] [--kills N] [--seed S]
Prints one summary line; exits 1, naming the runners and answers concerned, if any answer was
lost, doubled or crossed or any runner did not finish. The machinery is tests/support/chaos.py;
tests/telegram/test_chaos.py runs a small version with the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.chaos import run_chaos  # noqa: E402

SHOWN_PROBLEMS = 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runners", type=int, default=200, metavar="K")
    parser.add_argument("--kills", type=int, default=10, metavar="N")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database and the bot's log even when all checks pass")
    options = parser.parse_args()
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    workdir = Path(tempfile.mkdtemp(prefix="kebas-chaos-"))
    report = asyncio.run(run_chaos(options.runners, options.kills, options.seed,
                                   workdir=workdir))
    print(f"{report.summary()} ({report.seconds:.0f} s)")
    for problem in report.problems[:SHOWN_PROBLEMS]:
        print(f"  {problem}")
    if len(report.problems) > SHOWN_PROBLEMS:
        print(f"  ... and {len(report.problems) - SHOWN_PROBLEMS} more")
    if report.ok and not options.keep:
        shutil.rmtree(workdir)
    else:
        print(f"database and bot log kept in {workdir}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
