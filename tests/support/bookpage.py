"""The review book read back as a browser would: an HTML tree with entities decoded, so that
book tests check what a reviewer sees (texts by key and language, cards by kind and anchor)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "source", "wbr"}



@dataclass
class El:
    tag: str
    attrs: dict[str, str | None]
    children: list[El | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, El):
                yield from child.iter()

    def find(self, element_id: str) -> El | None:
        return next((el for el in self.iter() if el.attrs.get("id") == element_id), None)


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = El("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = El(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(El(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> El:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def shown_texts(root: El) -> dict[str, list[list[tuple[str, str]]]]:
    """text key -> every place it is shown, each as [(language, text), ...] left to right."""
    found: dict[str, list[list[tuple[str, str]]]] = {}
    for element in root.iter():
        key = element.attrs.get("data-key")
        if key:
            row = [(v.attrs["lang"], v.text()) for v in element.iter() if "v" in v.classes]
            found.setdefault(key, []).append(row)
    return found


def cards(root: El) -> Counter:
    return Counter((el.attrs["data-card"], el.attrs["id"]) for el in root.iter()
                   if "data-card" in el.attrs)


def main_cards(root: El) -> Counter:
    """The cards of the main dialog: all but those of the check-in's section."""
    checkin = root.find("checkin")
    return cards(root) - (cards(checkin) if checkin is not None else Counter())
