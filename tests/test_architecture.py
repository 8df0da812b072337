"""The house rules the import linter cannot see: no code uses another's _private name.

A leading underscore says "only this module (or this object) relies on it". Importing such a
name, reaching it through a module (`engine._outcome`) or through another object
(`analysis._formula`, `connection._conn`) ties two pieces together behind the reader's back:
one can no longer be changed without breaking the other, and a library's private name can
change in any release. Only `self._x` and `cls._x` are an object's own. (Layers and cycles:
`lint-imports`, configured in pyproject.toml and run by .ci/run.)
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
    """Each `from bot.x import _name` (or a relative `from .x import _name`), each
    `thing._name` where thing is not self or cls, and each `getattr(thing, "_name")`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                "bot")):
            source = "." * node.level + (node.module or "")
            found += [(node.lineno, f"from {source} import {alias.name}")
                      for alias in node.names if private(alias.name)]
        elif reaches_into(node):
            found.append((node.lineno, ast.unparse(node)))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def reaches_into(node: ast.AST) -> bool:
    """`thing._name` on anything but self or cls, or `getattr(thing, "_name")` and kin."""
    if isinstance(node, ast.Attribute):
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        return private(node.attr) and not own
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str) and private(node.args[1].value))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_uses_another_modules_private_names(path):
    assert reaches(path) == [], "make the name public (drop the underscore) or move the code"


def test_the_check_sees_every_kind_of_reach(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from bot.core import engine\nfrom bot.core.proofs import _after\n"
                      "engine._outcome(1)\nengine.step(1)\nself._mine = db._conn\n"
                      "print(__name__, engine.__file__)\nfrom .proofs import _check\n"
                      "getattr(engine, '_outcome')\ngetattr(engine, 'step')\n")
    assert reaches(sample) == ["line 2: from bot.core.proofs import _after",
                               "line 3: engine._outcome", "line 5: db._conn",
                               "line 7: from .proofs import _check",
                               "line 8: getattr(engine, '_outcome')"]
