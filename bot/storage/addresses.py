"""KEBAS_DB: which database it names (a SQLite file or a PostgreSQL address), and how it
may be shown in a message or a log, without its password."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote_plus

# The schemes of a PostgreSQL address (asyncpg's); any case, spaces around it trimmed.
POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_file_database(target: str | Path) -> bool:
    """A file path: anything not written as an address (with ://)."""
    return "://" not in str(target)


def postgres_address(target: str | Path) -> str | None:
    """KEBAS_DB as PostgreSQL's driver takes it (spaces around trimmed, the scheme in small
    letters), or None when it is no postgresql:// or postgres:// address."""
    scheme, found, rest = str(target).strip().partition("://")
    if found and scheme.lower() in POSTGRES_SCHEMES:
        return f"{scheme.lower()}://{rest}"
    return None


# A user name as it may be shown: nothing that could be the start of a password.
PLAIN_USER = re.compile(r"[A-Za-z0-9._%+-]*")
# What may be shown before :// (RFC 3986's scheme); anything else might be a password.
PLAIN_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# A query's key=value; a value is hidden when its key, %-escapes read, names a secret.
QUERY_PAIR = re.compile(r"[?&]([^=&]*)=([^&]*)")
SECRET_KEY = re.compile(r"(?i)pass|pwd|secret|token")


def shown_database(target: str | Path) -> str:
    """KEBAS_DB as it may appear in a message or a log: without its password.

    Every value written as an address (with ://) is masked, whatever its scheme (a refused
    one too). Read by hand, not with a URL parser: a password holding / ? or # (as
    generated ones do), written without %-escapes, ends a parser's idea of the user part
    early, and the rest of the password would be shown as host or path. So everything
    between :// and the last @ counts as user and password (only a plain user name is
    shown), and so does every query value whose key names a password (pass%77ord= too), up
    to the next &; where the two overlap (an @ inside the query's password) both are
    hidden. A scheme that is no plain word is hidden as well.
    """
    if is_file_database(target):
        return str(target)
    scheme, _, rest = str(target).strip().partition("://")
    hidden = [found.span(2) for found in QUERY_PAIR.finditer(rest)
              if SECRET_KEY.search(unquote_plus(found.group(1)))]
    if "@" in rest:
        at = rest.rindex("@")
        user, colon, _password = rest[:at].partition(":")
        if not PLAIN_USER.fullmatch(user):
            hidden.append((0, at))
        elif colon:
            hidden.append((len(user) + 1, at))
    shown_scheme = scheme if PLAIN_SCHEME.fullmatch(scheme) else "***"
    return f"{shown_scheme}://{_masked(rest, hidden)}"


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each (start, end) span, merged where they overlap, shown as ***."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    shown, last = [], 0
    for start, end in merged:
        shown += [text[last:start], "***"]
        last = end
    return "".join(shown) + text[last:]
