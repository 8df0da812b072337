"""Problems found in maintainers' files, reported as `FILE:LINE:COL: severity: message`.

Every check in Kebas speaks in Problems so that the CLI, the bot's start-up refusal and the
hot reload can show a maintainer exactly where to look and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    """1-based line and column inside a file, as editors show them."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    position: Position
    severity: Severity
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        text = f"{self.position}: {self.severity.value}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def error(position: Position, message: str, hint: str = "") -> Problem:
    return Problem(position, Severity.ERROR, message, hint)


def warning(position: Position, message: str, hint: str = "") -> Problem:
    return Problem(position, Severity.WARNING, message, hint)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Errors and warnings in file order, so the report reads top to bottom."""
    return sorted(problems, key=lambda p: (p.position, p.severity.value, p.message))
