"""`kebas graph`: one picture node per dialog node, red edges for red flags, end shapes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.proofs import prove
from bot.tools.flowchart import (
    GraphvizMissing,
    flow_of,
    render,
    to_graphviz,
    to_mermaid,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flow(shipped):
    return flow_of(shipped.dialog(), shipped.locales["id"])


def test_mermaid_has_one_node_per_dialog_node_and_red_red_flag_exits(shipped, flow):
    text = to_mermaid(flow)
    dialog = shipped.dialog()
    defined = re.findall(r"^    (\w+)[\[>(]", text, flags=re.MULTILINE)
    assert sorted(defined) == sorted(node.id for node in dialog.nodes)
    edges = re.findall(r"^    (\w+) -->(?:\|[^|]*\|)? (\w+)$", text, flags=re.MULTILINE)
    red = [int(i) for i in re.search(r"linkStyle ([\d,]+) stroke:#c0392b", text)[1].split(",")]
    red_edges = {edges[i] for i in red}
    assert all(target == "end_emergency" for _, target in red_edges)
    possible = {t for t in prove(dialog).transitions if t[1] == "end_emergency"}
    assert red_edges == possible, "every red-flag exit a path can take, and only those"
    assert 'end_result(["end_result<br/>' in text, "endings are drawn as end shapes"
    assert "class end_emergency emergency" in text


def test_branches_carry_their_condition(flow):
    text = to_mermaid(flow)
    assert "c2_back -->|back_pain = yes| c2b_back_more" in text
    assert "c2_back -->|else| d1_where" in text


def test_dot_has_every_node_and_red_edges(shipped, flow):
    source = to_graphviz(flow).source
    for node in shipped.dialog().nodes:
        assert re.search(rf"^\s*{node.id} \[", source, flags=re.MULTILINE), node.id
    assert source.count('color="#c0392b"') >= 8
    assert "shape=doubleoctagon" in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed "
                    "(.ci/run installs it)")
@pytest.mark.parametrize("picture_format, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_svg_and_png_are_drawn_by_graphviz(flow, picture_format, magic):
    picture = render(flow, picture_format)
    assert magic in picture[:300]
    if picture_format == "svg":
        for node in flow.nodes:
            assert f"<title>{node.id}</title>".encode() in picture


def test_without_graphviz_the_message_says_how_to_install_it(flow, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz"):
        render(flow, "svg")
    assert render(flow, "mermaid").startswith(b"flowchart TD"), "mermaid needs no Graphviz"


def test_the_command_writes_a_file_and_explains_a_missing_dot(tmp_path):
    out = tmp_path / "flow.mmd"
    done = subprocess.run([sys.executable, "-m", "bot", "graph", "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and out.read_text().startswith("flowchart TD")
    missing = subprocess.run([sys.executable, "-m", "bot", "graph", "--format", "svg", "-o",
                              str(tmp_path / "f.svg")], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, env={**os.environ, "PATH": "/nonexistent"})
    assert missing.returncode == 1 and "apt-get install graphviz" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_readme_picture_shows_the_shipped_dialog(shipped):
    svg = (ROOT / "docs" / "flow.svg").read_text(encoding="utf-8")
    for node in shipped.dialog().nodes:
        assert f"<title>{node.id}</title>" in svg, f"regenerate docs/flow.svg ({node.id})"
    assert "docs/flow.svg" in (ROOT / "README.md").read_text(encoding="utf-8")
