"""The tools are pure: they return data or text, and the `kebas` command (bot/cli) alone
parses arguments, prints and picks exit statuses. (That bot.tools never imports bot.cli is
lint-imports' layers contract; this guards what the linter cannot see.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TOOLS = sorted((Path(__file__).resolve().parents[2] / "bot" / "tools").glob("*.py"))
# what only a command does: its arguments, its output streams, its exit
COMMAND_ONLY = {"argparse", "sys.exit", "sys.stdout", "sys.stderr", "print"}


def command_work(path: Path) -> list[str]:
    """Each place in a module that parses arguments, prints or exits."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {alias.name}" for alias in node.names
                      if alias.name in COMMAND_ONLY or alias.name.startswith("bot.cli")]
        elif isinstance(node, ast.ImportFrom) and (
                node.module in COMMAND_ONLY or (node.module or "").startswith("bot.cli")):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [f"line {node.lineno}: from sys import {alias.name}"
                      for alias in node.names if f"sys.{alias.name}" in COMMAND_ONLY]
        elif isinstance(node, ast.Name) and node.id == "SystemExit":
            found.append(f"line {node.lineno}: SystemExit")
        elif isinstance(node, ast.Name) and node.id == "print":
            found.append(f"line {node.lineno}: print")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and f"{node.value.id}.{node.attr}" in COMMAND_ONLY:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return sorted(found, key=lambda place: int(place.split(":")[0].removeprefix("line ")))


@pytest.mark.parametrize("path", TOOLS, ids=lambda path: path.name)
def test_a_tool_neither_parses_arguments_nor_prints_nor_exits(path):
    assert command_work(path) == [], "return the data or text; let bot/cli print it"


def test_the_check_sees_each_kind_of_command_work(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import argparse\nimport sys\nfrom bot.cli.main import main\n"
                      "print('x')\nsys.stderr.write('y')\nsys.exit(1)\n"
                      "from sys import stdout, path\nraise SystemExit(2)\n")
    assert command_work(sample) == ["line 1: import argparse", "line 3: from bot.cli.main "
                                    "import ...", "line 4: print", "line 5: sys.stderr",
                                    "line 6: sys.exit", "line 7: from sys import stdout",
                                    "line 8: SystemExit"]
