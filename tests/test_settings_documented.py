"""Every setting Kebas reads is in README's environment table (or docs/deploy.md's, for the
webhook), and `.env.example` names only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {name.upper() for name in Settings.model_fields}


def documented(path: Path) -> set[str]:
    """The names in a markdown table's first column (`NAME`, or several `A`, `B` in one cell)."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z_]+)`", line.split("|")[1]))
    return names


def test_every_setting_is_in_an_environment_table():
    tables = documented(ROOT / "README.md") | documented(ROOT / "docs" / "deploy.md")
    assert SETTINGS - tables == set()


def test_the_example_settings_file_names_only_real_settings():
    named = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(
        encoding="utf-8"), re.M))
    assert named and named <= SETTINGS, named - SETTINGS
