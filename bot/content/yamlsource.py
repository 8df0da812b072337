"""Reads maintainers' YAML keeping where every key and value came from.

PyYAML's data has no line numbers, so we compose the node tree ourselves and record a
position for every path (`("nodes", 3, "options", 0, "id")`). Checks then point at the exact
line. The reader also keeps `yes`/`no`/`on`/`off` as strings (YAML 1.1 would make them
booleans, silently turning an option id `no` into `False`) and refuses duplicate keys, which
PyYAML would otherwise resolve by keeping the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.problems import Position, Problem, error

PathKey = tuple[str | int, ...]


class _KebasResolver(yaml.resolver.Resolver):
    """YAML 1.2-style booleans: only true/false, never yes/no/on/off."""


_KebasResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_KebasResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _PureLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    yaml.constructor.SafeConstructor,
    _KebasResolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _KebasResolver.__init__(self)


_KebasLoader: type = _PureLoader
if getattr(yaml, "__with_libyaml__", False):
    # libyaml composes the same node tree, with the same marks, about ten times faster than
    # PyYAML's pure-Python parser: that was most of what `kebas check` spent. CSafeLoader is
    # libyaml's parser with the safe constructor; our resolver comes before PyYAML's.
    class _LibyamlLoader(yaml.CSafeLoader, _KebasResolver):
        pass

    _KebasLoader = _LibyamlLoader


@dataclass
class SourceDocument:
    """One YAML file: its data and the position of every path in it."""

    file: str
    data: Any
    positions: dict[PathKey, Position] = field(default_factory=dict)

    def position(self, path: PathKey) -> Position:
        """The position of `path`, or of its nearest ancestor that exists."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Position(self.file, 1, 1))

    def locate(self, loc: tuple[Any, ...]) -> tuple[Position, PathKey]:
        """Map a validator's error location onto the data, skipping parts that are not paths.

        pydantic adds union tags (e.g. `choice` or `function-after[...]`) between real keys; we
        keep only the parts that lead somewhere in the document.
        """
        path: PathKey = ()
        for part in loc:
            candidate = path + (part,)
            if candidate in self.positions:
                path = candidate
        return self.position(path), path


def _mark_position(file: str, mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(file, 1, 1)
    return Position(file, mark.line + 1, mark.column + 1)


def _build(loader: Any, node: yaml.Node, path: PathKey, doc: SourceDocument,
           problems: list[Problem]) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int)):
                problems.append(error(_mark_position(doc.file, key_node.start_mark),
                                      f"a key must be a plain word, not {key!r}"))
                continue
            key_position = _mark_position(doc.file, key_node.start_mark)
            if key in result:
                first = doc.positions[path + (key,)]
                problems.append(error(
                    key_position, f"duplicate key '{key}' (first written at line {first.line})",
                    "YAML keeps only one of them; remove or rename one"))
                continue
            doc.positions[path + (key,)] = key_position
            result[key] = _build(loader, value_node, path + (key,), doc, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            doc.positions[path + (index,)] = _mark_position(doc.file, item.start_mark)
            items.append(_build(loader, item, path + (index,), doc, problems))
        return items
    return loader.construct_object(node, deep=True)


def read_yaml(path: Path | str, text: str | None = None, display_name: str | None = None,
              *, loader_class: type | None = None
              ) -> tuple[SourceDocument | None, list[Problem]]:
    """Parse one YAML file; syntax errors come back as Problems, never as exceptions."""
    file = display_name or str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            return None, [error(Position(file, 1, 1), f"the file is not UTF-8 text ({exc.reason})",
                                "save it as UTF-8")]
        except OSError as exc:
            return None, [error(Position(file), f"cannot read the file: {exc.strerror}")]
    loader = (loader_class or _KebasLoader)(text)
    problems: list[Problem] = []
    try:
        root = loader.get_single_node()
        doc = SourceDocument(file, None)
        if root is None:
            doc.positions[()] = Position(file, 1, 1)
            return doc, problems
        doc.positions[()] = _mark_position(file, root.start_mark)
        doc.data = _build(loader, root, (), doc, problems)
        return doc, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or "the YAML is malformed"
        if exc.context:
            message = f"{exc.context}: {message}"
        return None, [error(_mark_position(file, mark), f"YAML syntax error, {message}",
                            "check indentation (spaces only), colons after keys, and quotes")]
    except yaml.YAMLError as exc:
        return None, [error(Position(file, 1, 1), f"YAML error: {exc}")]
    finally:
        loader.dispose()
