"""The storage seam is honest: `SessionStore` declares every store member the rest of Kebas
uses, and both stores implement each one with the Protocol's very signature, so a caller (or
a test double) written against the Protocol works on either. (mypy checks the same statically
in `bot.storage.opening`.)"""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

from bot.storage import SessionStore, SQLiteStore
from bot.storage.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[2]


def declared(protocol: type) -> dict[str, object]:
    """The members written in the Protocol's body: its methods and properties."""
    return {name: value for name, value in vars(protocol).items()
            if isinstance(value, property)
            or (inspect.isfunction(value) and value.__qualname__ == f"{protocol.__name__}.{name}")}


def signature(function: typing.Callable[..., object]) -> inspect.Signature:
    return inspect.signature(function, eval_str=True)


def differences(store: object) -> list[str]:
    """How `store` (an instance) differs from `SessionStore`: each member it lacks or has
    with another signature, or an attribute of another type."""
    found = []
    for name, member in declared(SessionStore).items():
        if not hasattr(store, name):
            found.append(f"{name}: missing")
        elif isinstance(member, property):
            wanted = typing.get_type_hints(member.fget)["return"]
            if not isinstance(getattr(store, name), wanted):
                found.append(f"{name}: {getattr(store, name)!r} is no {wanted}")
        else:
            own = getattr(type(store), name)
            if inspect.iscoroutinefunction(own) != inspect.iscoroutinefunction(member):
                found.append(f"{name}: async in one, not in the other")
            elif signature(own) != signature(member):
                found.append(f"{name}{signature(own)}, not {name}{signature(member)}")
    return found


STORES = {"sqlite": lambda tmp_path: SQLiteStore(tmp_path / "kebas.sqlite3"),
          "postgres": lambda _tmp_path: PostgresStore("postgresql://kebas@127.0.0.1/kebas")}


@pytest.mark.parametrize("kind", STORES)
def test_each_store_implements_every_member_of_the_protocol(kind, tmp_path):
    assert differences(STORES[kind](tmp_path)) == []


def test_the_comparison_sees_a_store_that_drifted(tmp_path):
    class Drifted(SQLiteStore):
        inbox_done = None  # gone

        async def inbox_add(self, update_id: int, payload: str) -> bool:  # no chat_key
            return True

        def ping(self) -> None:  # not awaitable
            pass

    found = differences(Drifted(tmp_path / "kebas.sqlite3"))
    assert [line.split(":")[0].split("(")[0] for line in found] == [
        "ping", "inbox_add", "inbox_done"], found


def used_store_members(path: Path) -> set[str]:
    """Each `store.name` and `x.store.name` in a module: what it uses of a store."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "store") or (
                    isinstance(owner, ast.Attribute) and owner.attr == "store"):
                found.add(node.attr)
    return found


def test_the_protocol_declares_every_store_member_the_rest_of_kebas_uses():
    stores = ROOT / "bot" / "storage"
    callers = [path for path in sorted((ROOT / "bot").rglob("*.py"))
               if path.parent != stores or path.name == "retention.py"]
    used = {name: str(path.relative_to(ROOT)) for path in callers
            for name in used_store_members(path)}
    assert {"inbox_add", "now", "latest", "migrated_from", "take_lease", "count_start",
            "start_counts"} <= set(used), "the scan finds the callers"
    assert {name: where for name, where in used.items()
            if name not in declared(SessionStore)} == {}
