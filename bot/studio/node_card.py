"""What the studio shows when a node of the flow picture is clicked: the review book's card of
that node (its text in every language, its options and where each leads, its routes and the
red flags it can fire), made by the book's own code."""

from __future__ import annotations

from typing import Any

from bot.content.loader import Bundle
from bot.core import graph
from bot.core.model import Dialog
from bot.tools.book import level_names
from bot.tools.book_cards import Texts, node_card

# the languages as a clinician reads them: "id" next to the options' ids read as an id
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def node_details(bundle: Bundle, dialog: Dialog, node_id: str) -> dict[str, Any]:
    """The card of `node_id` in every language of the content (KeyError: no such node)."""
    node = dialog.node_by_id[node_id]
    locales = [bundle.locales[language] for language in sorted(
        bundle.locales, key=lambda language: (language != "id", language))]
    reachable = graph.reachable(dialog.start, graph.edges(dialog))
    card = node_card(dialog, node, Texts(locales), level_names(locales[0]),
                     node.id in reachable)
    return {"card": card, "languages": [LANGUAGE_NAMES.get(locale.language, locale.language)
                                        for locale in locales],
            "dialog": dialog.id}
