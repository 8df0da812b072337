"""Reading a database's files as bytes, to prove erased words are gone."""

from __future__ import annotations

from pathlib import Path


def leftovers(db: Path, secrets: tuple[str, ...]) -> dict[str, list[str]]:
    """Which secrets stand, as bytes, in the database file, its -wal and its -shm."""
    found = {}
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            data = path.read_bytes()
            hits = [secret for secret in secrets if secret.encode() in data]
            if hits:
                found[path.name] = hits
    return found
