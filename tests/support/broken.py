"""The broken-dialog catalogue in tests/broken/: its cases, their files, what each expects."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.problems import Severity

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "example"
CASES = sorted(path for path in (ROOT / "tests" / "broken").iterdir() if path.is_dir())
EXPECT = re.compile(r"^# expect: (?:(\S+):)?(\d+) (error|warning) (.*)$")


def case_paths(case: Path) -> list[Path]:
    paths = []
    for part in ("dialogs", "locales"):
        folder = case / part if (case / part).is_dir() else EXAMPLE / part
        own = {file.name for file in folder.glob("*.yaml")}
        paths += sorted(folder.glob("*.yaml"))
        if folder != EXAMPLE / part:  # take the languages the case leaves out from the example
            paths += [file for file in sorted((EXAMPLE / part).glob("*.yaml"))
                      if file.name not in own and part == "locales"]
    return paths


def expectations(case: Path) -> list[tuple[str, int, Severity, str, str]]:
    found = []
    for file in sorted(case.rglob("*.yaml")):
        for line in file.read_text(encoding="utf-8").splitlines():
            match = EXPECT.match(line)
            if match:
                named, line_number, severity, text = match.groups()
                message, _, hint = text.partition("|")
                found.append((named or str(file.relative_to(ROOT)), int(line_number),
                              Severity(severity), message, hint))
    return found
