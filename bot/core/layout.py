"""Which buttons share a row on a phone: short ones side by side, long ones alone.

Telegram gives the buttons of a row equal widths and cuts a label that does not fit with "…",
so a row holds only labels that fit their share of a phone's width. Rows keep the labels'
order, read left to right and top to bottom: the n-th button a runner reads is the n-th option,
the one the number n picks when typed (bot.core.typed_input).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from itertools import accumulate

# Latin letters across the inline keyboard of a phone 360 dp wide (most Android phones sold in
# Indonesia), in Telegram's button font.
KEYBOARD_WIDTH = 40
# Letters each button gives up to its padding and the gap to its neighbour.
BUTTON_PADDING = 2
# More than three a row reads as a grid of codes, not as answers.
MOST_IN_A_ROW = 3

TICK = "✓ "  # before the label of an option ticked on a multiple-choice question
EMOJI_PRESENTATION = "\ufe0f"  # turns the character before it into an emoji ("➡" → "➡️")


def label_width(label: str) -> int:
    """How many Latin letters wide a label shows: emoji and wide characters count two,
    combining marks and joiners nothing."""
    width = 0
    previous = ""
    for character in label:
        if character == EMOJI_PRESENTATION and previous and not _wide(previous):
            width += 1  # the narrow symbol before it is drawn as a (wide) emoji
        elif unicodedata.category(character) not in ("Mn", "Me", "Cf"):
            width += 2 if _wide(character) else 1
        previous = character
    return width


def _wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def fits_one_row(labels: Sequence[str]) -> bool:
    """Whether these labels fit side by side in one row, each in its equal share."""
    return _fits(tuple(label_width(label) for label in labels))


def _fits(widths: tuple[int, ...]) -> bool:
    if not 0 < len(widths) <= MOST_IN_A_ROW:
        return False
    share = KEYBOARD_WIDTH // len(widths) - BUTTON_PADDING
    return all(width <= share for width in widths)


def in_rows(labels: Sequence[str], alone: Collection[int] = ()) -> list[range]:
    """The labels' positions, row by row: consecutive labels share a row when they fit it,
    except those at the positions `alone`, which get a row of their own.

    Of the ways to cut the labels into such rows, the one with the fewest rows, then the most
    even rows, then fuller rows first (five short ones: three, then two); a row of several
    between two rows of one is then split. A label too long even for a row of its own still
    gets one.
    """
    sizes = _fewest_rows([label_width(label) for label in labels], set(alone))
    rows = [range(end - size, end) for size, end in zip(sizes, accumulate(sizes))]
    return [part for before, row, after in zip([None, *rows], rows, [*rows[1:], None])
            for part in (_one_each(row) if _in_a_column(before, after) else [row])]


Score = tuple[int, int, tuple[int, ...]]  # rows, unevenness (sum of squared sizes), -sizes


def _fewest_rows(widths: list[int], alone: set[int]) -> tuple[int, ...]:
    """Row sizes, best first by `Score`; found from the end backwards, since the best cut of
    what follows a row does not depend on that row."""
    best: list[tuple[Score, tuple[int, ...]]] = [((0, 0, ()), ())]  # [n]: of the last n
    for start in reversed(range(len(widths))):
        choices = []
        for size in range(1, MOST_IN_A_ROW + 1):
            rest = len(widths) - start - size
            row = range(start, start + size)
            if rest >= 0 and (size == 1 or (_fits(tuple(widths[place] for place in row))
                                            and alone.isdisjoint(row))):
                (count, unevenness, fuller), sizes = best[rest]
                choices.append(((count + 1, unevenness + size * size, (-size, *fuller)),
                                (size, *sizes)))
        best.append(min(choices))
    return best[-1][1]


def _in_a_column(before: range | None, after: range | None) -> bool:
    """Whether a row sits between two rows of one: a column of single answers reads top to
    bottom, and a row of several in its middle would make the eye zigzag."""
    return before is not None and after is not None and len(before) == len(after) == 1


def _one_each(row: range) -> list[range]:
    return [range(place, place + 1) for place in row]
