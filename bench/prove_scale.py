"""How the safety proofs scale: the shipped dialog and generated chains of growing length.

Run: .venv/bin/python bench/prove_scale.py
Prints one row per dialog: questions, states explored, distinct paths (as a power of ten),
and the best of three timings. Tests check correctness; this only measures.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bot.content.loader import load_bundle  # noqa: E402
from bot.core.proofs import prove  # noqa: E402

from support.generated import generated_dialog  # noqa: E402


def best_of(runs: int, dialog) -> tuple[float, object]:
    timings, report = [], None
    for _ in range(runs):
        started = time.perf_counter()
        report = prove(dialog)
        timings.append(time.perf_counter() - started)
    return min(timings), report


def main() -> None:
    rows = [("shipped kaki_kebas", load_bundle([ROOT / "dialogs", ROOT / "locales"]).dialog())]
    rows += [(f"generated, {n} questions", generated_dialog(n)) for n in (50, 100, 200, 300)]
    print(f"{'dialog':<28} {'states':>7} {'paths':>9} {'longest':>7} {'seconds':>8}")
    for name, dialog in rows:
        seconds, report = best_of(3, dialog)
        print(f"{name:<28} {report.states:>7} {'1e' + str(int(math.log10(report.paths))):>9} "
              f"{report.longest_questions:>7} {seconds:>8.3f}")


if __name__ == "__main__":
    main()
