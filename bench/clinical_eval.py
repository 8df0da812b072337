"""Print the clinical evaluation table (docs/clinical-evaluation.md) for the current dialog.

    .venv/bin/python bench/clinical_eval.py            # the markdown table and the misses

Each vignette in tests/vignettes/ is a runner's story with what a careful GP would advise,
and the answers mapped blind from the story; bot/tools/evaluation.py runs them through the
engine.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.loader import load_bundle  # noqa: E402
from bot.tools.evaluation import Summary, load_vignettes, run  # noqa: E402


def main() -> int:
    bundle = load_bundle([ROOT / "dialogs", ROOT / "locales"])
    dialog = bundle.dialog()
    summary = Summary.of(run(dialog, vignette)
                         for vignette in load_vignettes(ROOT / "tests" / "vignettes"))
    print(f"{dialog.id} v{dialog.version}, {len(summary.outcomes)} vignettes\n")
    print(summary.markdown(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
