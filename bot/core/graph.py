"""Graph facts about a dialog: what can be reached, what can finish, where it loops for ever.

Each function is small and pure, takes the edges as data and returns what it found, so the
checker and the flow picture can share them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from bot.core.conditions import facts_read
from bot.core.model import Dialog, OutcomeNode, is_question, node_targets, options_of

Edges = dict[str, list[str]]


def facts_set_by(node: object) -> set[str]:
    """The facts answering this node can change: its own answer and what its options set."""
    if not is_question(node):
        return set()
    return {node.id} | {fact for option in options_of(node) for fact in option.set}


def edges(dialog: Dialog) -> Edges:
    """Every possible move between nodes.

    Answering a question may also fire a red flag that stops at its outcome, but only a flag
    whose condition reads a fact that this question sets.
    """
    stopping = [(facts_read(flag.when), flag.stop_at) for flag in dialog.red_flags
                if flag.stop_at]
    result: Edges = {}
    for node in dialog.nodes:
        changed = facts_set_by(node)
        targets = node_targets(node) + [stop_at for read, stop_at in stopping if read & changed]
        result[node.id] = list(dict.fromkeys(t for t in targets if t in dialog.node_by_id))
    return result


def reachable(start: str, graph: Edges) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for target in graph.get(queue.popleft(), []):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def can_finish(graph: Edges, endings: Iterable[str]) -> set[str]:
    """Nodes from which some path leads to one of `endings`."""
    reverse: Edges = {}
    for source, targets in graph.items():
        for target in targets:
            reverse.setdefault(target, []).append(source)
    found = set(endings)
    queue = deque(found)
    while queue:
        for source in reverse.get(queue.popleft(), []):
            if source not in found:
                found.add(source)
                queue.append(source)
    return found


def outcome_ids(dialog: Dialog) -> set[str]:
    return {node.id for node in dialog.nodes if isinstance(node, OutcomeNode)}


def trapped_cycles(graph: Edges, trapped: set[str]) -> list[list[str]]:
    """Loops made only of nodes that cannot finish: once inside, the runner never gets out.

    Strongly connected components (Tarjan) restricted to `trapped`, keeping real loops.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, []):
            if target not in trapped:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, []):
                components.append(sorted(component))

    for node in sorted(trapped):
        if node not in index:
            visit(node)
    return components
