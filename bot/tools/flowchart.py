"""`kebas graph`: the dialog as a picture, drawn from the YAML so it is never out of date.

One neutral description (nodes and edges) is drawn two ways: Mermaid text, which GitHub and
GitLab render, and Graphviz (DOT source, or SVG/PNG through the `dot` program). Questions show
their shortened text, edges their condition, red-flag exits are red, endings are end shapes.
Only red-flag exits some answers can really take are drawn (the safety proof knows which).
"""

from __future__ import annotations

from dataclasses import dataclass

import graphviz

from bot.core import proofs
from bot.core.conditions import describe, facts_read
from bot.core.graph import facts_set_by
from bot.core.i18n import Locale
from bot.core.model import Dialog, InfoNode, OutcomeNode, TriageLevel, is_question

LABEL_LENGTH = 42


@dataclass(frozen=True)
class FlowNode:
    id: str
    kind: str          # question | info | outcome
    label: str
    emergency: bool = False


@dataclass(frozen=True)
class FlowEdge:
    source: str
    target: str
    label: str = ""
    red: bool = False


@dataclass(frozen=True)
class Flow:
    title: str
    nodes: tuple[FlowNode, ...]
    edges: tuple[FlowEdge, ...]


def flow_of(dialog: Dialog, locale: Locale) -> Flow:
    nodes = []
    for node in dialog.nodes:
        kind = "outcome" if isinstance(node, OutcomeNode) else (
            "info" if isinstance(node, InfoNode) else "question")
        emergency = isinstance(node, OutcomeNode) and node.level is TriageLevel.EMERGENCY
        nodes.append(FlowNode(node.id, kind, _shorten(locale.text(node.text)), emergency))
    edges: list[FlowEdge] = []
    for node in dialog.nodes:
        branches = getattr(node, "branches", [])
        for branch in branches:
            edges.append(FlowEdge(node.id, branch.next, _shorten(describe(branch.when))))
        if hasattr(node, "next"):
            edges.append(FlowEdge(node.id, node.next, "else" if branches else ""))
    possible = proofs.prove(dialog).transitions
    for flag in dialog.red_flags:
        if flag.stop_at is None:
            continue
        for node in dialog.nodes:
            feeds = is_question(node) and facts_read(flag.when) & facts_set_by(node)
            if feeds and (node.id, flag.stop_at) in possible:
                edges.append(FlowEdge(node.id, flag.stop_at, _shorten(flag.id), red=True))
    return Flow(locale.text(dialog.title), tuple(nodes), tuple(_merge(edges)))


def _merge(edges: list[FlowEdge]) -> list[FlowEdge]:
    """One red edge per question and ending, naming every red flag that takes it."""
    merged: dict[tuple[str, str, bool], list[str]] = {}
    for edge in edges:
        labels = merged.setdefault((edge.source, edge.target, edge.red), [])
        if edge.label and edge.label not in labels:
            labels.append(edge.label)
    return [FlowEdge(source, target, ", ".join(labels), red)
            for (source, target, red), labels in merged.items()]


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= LABEL_LENGTH else line[:LABEL_LENGTH - 1].rstrip() + "…"


# --- Mermaid ----------------------------------------------------------------------------


def to_mermaid(flow: Flow) -> str:
    lines = ["flowchart TD"]
    shapes = {"question": ('["', '"]'), "info": ('>"', '"]'), "outcome": ('(["', '"])')}
    for node in flow.nodes:
        opening, closing = shapes[node.kind]
        lines.append(f"    {node.id}{opening}{_mermaid_text(node.id)}<br/>"
                     f"{_mermaid_text(node.label)}{closing}")
    red = []
    for index, edge in enumerate(flow.edges):
        label = f"|{_mermaid_text(edge.label)}|" if edge.label else ""
        lines.append(f"    {edge.source} -->{label} {edge.target}")
        if edge.red:
            red.append(str(index))
    if red:
        lines.append(f"    linkStyle {','.join(red)} stroke:#c0392b,stroke-width:2px,color:#c0392b")
    emergency = [node.id for node in flow.nodes if node.emergency]
    if emergency:
        lines.append("    classDef emergency fill:#fde2e0,stroke:#c0392b,color:#7b241c")
        lines.append(f"    class {','.join(emergency)} emergency")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


# --- Graphviz ---------------------------------------------------------------------------


def to_graphviz(flow: Flow) -> graphviz.Digraph:
    picture = graphviz.Digraph("dialog", graph_attr={"rankdir": "TB", "label": flow.title,
                                                     "labelloc": "t", "fontname": "Helvetica"},
                               node_attr={"fontname": "Helvetica", "fontsize": "10"},
                               edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    shapes = {"question": "box", "info": "note", "outcome": "doubleoctagon"}
    for node in flow.nodes:
        style = {"style": "filled", "fillcolor": "#fde2e0", "color": "#c0392b"} \
            if node.emergency else {}
        picture.node(node.id, f"{node.id}\n{node.label}", shape=shapes[node.kind], **style)
    for edge in flow.edges:
        style = {"color": "#c0392b", "fontcolor": "#c0392b", "penwidth": "2"} if edge.red else {}
        picture.edge(edge.source, edge.target, label=edge.label, **style)
    return picture


class GraphvizMissing(Exception):
    """The `dot` program is not installed, so no SVG or PNG can be drawn."""


def render(flow: Flow, output_format: str) -> bytes:
    """The picture as mermaid or dot text, or as SVG/PNG bytes drawn by Graphviz."""
    if output_format == "mermaid":
        return to_mermaid(flow).encode("utf-8")
    picture = to_graphviz(flow)
    if output_format == "dot":
        source: str = picture.source   # graphviz has no type hints: say what it gives
        return source.encode("utf-8")
    try:
        drawn: bytes = picture.pipe(format=output_format)
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizMissing("Graphviz's 'dot' program is not installed; install it with "
                              "'sudo apt-get install graphviz' (Debian/Ubuntu) or 'brew install "
                              "graphviz' (macOS), or use --format mermaid or dot") from exc
    return drawn
