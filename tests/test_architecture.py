"""The house rules the import linter cannot see: no module uses another module's _private name.

A leading underscore says "only this module relies on it". Importing such a name, or reaching
it through a module (`engine._outcome`), ties two modules together behind the reader's back:
one can no longer be changed without breaking the other. (Layers and cycles: `lint-imports`,
configured in pyproject.toml and run by .ci/run.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "bot").rglob("*.py"))


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def reaches(path: Path) -> list[str]:
    """Each `from bot.x import _name` and each `module._name` on a module imported from bot."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
            for alias in node.names:
                if private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {(alias.asname or alias.name).split(".")[0] for alias in node.names
                        if alias.name.startswith("bot")}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in modules):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_uses_another_modules_private_names(path):
    assert reaches(path) == [], "make the name public (drop the underscore) or move the code"


def test_the_check_sees_both_kinds_of_reach(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from bot.core import engine\nfrom bot.core.proofs import _after\n"
                      "engine._outcome(1)\nengine.step(1)\n")
    assert reaches(sample) == ["line 2: from bot.core.proofs import _after",
                               "line 3: engine._outcome"]
