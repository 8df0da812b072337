"""How answer buttons share rows on a phone: short ones side by side (two or three), long ones
alone, always in the options' order, and an emoji as wide as two letters."""

from __future__ import annotations

import pytest

from bot.core.layout import (
    BUTTON_PADDING,
    KEYBOARD_WIDTH,
    MOST_IN_A_ROW,
    fits_one_row,
    in_rows,
    label_width,
)


def shown(labels: list[str]) -> list[list[str]]:
    """The labels as the rows a runner sees."""
    return [[labels[index] for index in row] for row in in_rows(labels)]


def test_yes_and_no_share_one_row():
    assert shown(["Ya", "Tidak"]) == [["Ya", "Tidak"]]


def test_three_short_options_share_one_row():
    assert shown(["Kiri", "Kanan", "Keduanya"]) == [["Kiri", "Kanan", "Keduanya"]]
    assert shown(["Ya", "Tidak", "Tidak yakin"]) == [["Ya", "Tidak", "Tidak yakin"]]


def test_long_options_get_a_row_each():
    labels = ["Kali ini masih kebas setelah 30 menit", "Kebas seharian, walau tidak berlari",
              "Menjalar/makin parah dari hari ke hari"]
    assert shown(labels) == [[label] for label in labels]


def test_a_label_too_long_even_alone_still_gets_its_own_row():
    labels = ["Ya", "x" * (KEYBOARD_WIDTH * 2), "Tidak"]
    assert shown(labels) == [["Ya"], ["x" * (KEYBOARD_WIDTH * 2)], ["Tidak"]]


def test_mixed_short_options_pair_up_around_a_long_one_without_leaving_their_order():
    labels = ["Kiri", "Kanan", "Sepatu, perlengkapan, atau latihan", "Keduanya", "Tidak ada"]
    assert shown(labels) == [["Kiri", "Kanan"], ["Sepatu, perlengkapan, atau latihan"],
                             ["Keduanya", "Tidak ada"]]


def test_no_row_of_several_in_the_middle_of_a_column_of_single_ones():
    # A long list of one a row reads top to bottom; a pair in its middle makes the eye zigzag.
    labels = ["Luka/lecet yang tak kunjung sembuh", "Betis", "Tumit",
              "Kulit jari kaki menghitam, terasa dingin", "Tidak ada"]
    assert shown(labels) == [[label] for label in labels]
    at_the_end = ["Ya, mati rasa di area sadel", "Ya, ada perubahan BAK/BAB", "Ya, keduanya",
                  "Tidak ada"]
    assert shown(at_the_end)[-1] == ["Ya, keduanya", "Tidak ada"], "at an end it may pair"
    assert shown(list(reversed(at_the_end)))[0] == ["Tidak ada", "Ya, keduanya"]


def test_an_option_too_long_for_three_a_row_makes_it_two():
    labels = ["Betis", "Tulang kering", "Tumit"]      # "Tulang kering" is too long for a third
    assert shown(labels) == [["Betis", "Tulang kering"], ["Tumit"]]


@pytest.mark.parametrize(("count", "sizes"), [
    (4, [2, 2]),        # not 3 + 1: no option left alone under a full row
    (5, [3, 2]),
    (6, [3, 3]),
    (7, [3, 2, 2]),
])
def test_short_options_fill_the_fewest_rows_as_evenly_as_they_can_fuller_rows_first(
        count, sizes):
    labels = ["Kiri", "Kanan", "Atas", "Bawah", "Depan", "Tengah", "Luar"][:count]
    rows = shown(labels)
    assert [len(row) for row in rows] == sizes
    assert [label for row in rows for label in row] == labels, "reading order kept"


def test_a_label_asked_to_stand_alone_gets_its_own_row_and_the_rest_still_pair():
    labels = ["Kiri", "Kanan", "Keduanya", "Tidak ada"]
    assert [list(row) for row in in_rows(labels, alone={3})] == [[0, 1, 2], [3]]
    assert [list(row) for row in in_rows(labels, alone={0})] == [[0], [1, 2, 3]]


def test_never_more_than_three_a_row_however_short():
    rows = in_rows([str(number) for number in range(1, 10)])
    assert max(len(row) for row in rows) == MOST_IN_A_ROW == 3


def test_the_width_of_a_label_counts_emoji_as_two_letters_and_joiners_as_nothing():
    assert label_width("Tidak") == 5
    assert label_width("🦵") == 2
    assert label_width("✅ Ya") == 5, "an emoji, a space and two letters"
    assert label_width("➡️ Selesai") == 10, "an arrow turned emoji by its variation selector"
    assert label_width("✓ Betis") == 7, "a plain tick is a letter wide"
    assert label_width("e\u0301") == 1, "a combining accent adds nothing"


def test_emoji_count_twice_when_deciding_what_shares_a_row():
    # Counting characters, each of these fits a third of the row; counting emoji as two
    # letters, the second does not.
    labels = ["Kiri", "Kanan 🦵🦵🦵", "Dua"]
    assert max(len(label) for label in labels) * 3 + 3 * BUTTON_PADDING <= KEYBOARD_WIDTH
    assert shown(labels) == [["Kiri", "Kanan 🦵🦵🦵"], ["Dua"]]


def test_a_row_fits_when_every_label_fits_its_equal_share_of_the_width():
    # Telegram gives the buttons of a row equal widths: the widest label decides.
    share = KEYBOARD_WIDTH // 2 - BUTTON_PADDING
    assert fits_one_row(["a", "b" * share])
    assert not fits_one_row(["a", "b" * (share + 1)])
    assert fits_one_row(["b" * (KEYBOARD_WIDTH - BUTTON_PADDING)])
    assert not fits_one_row(["b" * (KEYBOARD_WIDTH - BUTTON_PADDING + 1)]), \
        "too long even alone (in_rows still gives it a row of its own)"
    assert not fits_one_row(["1", "2", "3", "4"])


def test_no_labels_no_rows():
    assert in_rows([]) == []
