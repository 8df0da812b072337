"""`kebas book`: the whole dialog as a printable HTML book for clinical sign-off.

Every question with its options, every red flag, cause and outcome, every text of the locale, in
one or two languages side by side, with the flow picture, the dialog version and the result of
the safety proofs. `book_context` gathers it (pure: dialog, locales and proof report in, plain
data out; the cards come from `book_cards`) and `render_book` fills `templates/book.html.j2`.

Texts are shown as the runner reads them: `{emergency}` and the other `vars.*` are filled in,
while placeholders that Kebas fills at run time (`{min}`, `{title}`, ...) stay visible.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup

from bot.content import signoff
from bot.content.loader import Bundle
from bot.core import graph, proofs
from bot.core.i18n import LANGUAGE_NAMES, Locale
from bot.core.model import Dialog, OutcomeNode, TriageLevel
from bot.tools import flowchart
from bot.tools.book_cards import (
    Level,
    Texts,
    appendix,
    cause_card,
    flag_card,
    node_card,
    outcome_card,
    proof_summary,
)
from bot.tools.book_checkin import copies, offers, same_words
from bot.tools.book_summary import summary_part
from bot.tools.book_words import GROUPS, chrome_for
from bot.tools.pages import render_page

MAX_LANGUAGES = 2   # side by side
LEVELS = (TriageLevel.EMERGENCY, TriageLevel.URGENT, TriageLevel.SOON, TriageLevel.SELF_CARE)
SVG_ID = re.compile(r'(\sid=")')   # an id attribute in Graphviz's SVG


def reading_order(dialog: Dialog) -> list[Any]:
    """Nodes as a maintainer reads them: every node after the nodes that lead to it.

    Breadth-first from `start` says which comes first among nodes that are ready; a loop is
    entered at its earliest node. Nodes the start cannot reach come last, in file order.
    """
    moves = graph.edges(dialog)
    rank = {node_id: index for index, node_id in enumerate(_breadth_first(dialog.start, moves))}
    waiting = dict.fromkeys(rank, 0)
    for source in rank:
        for target in moves.get(source, []):
            waiting[target] += 1
    ready = [(rank[dialog.start], dialog.start)] if waiting[dialog.start] == 0 else []
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(rank):
        if not ready:  # a loop: enter it at its earliest node
            node_id = min((n for n in rank if n not in placed), key=rank.__getitem__)
            heapq.heappush(ready, (rank[node_id], node_id))
        _rank, node_id = heapq.heappop(ready)
        if node_id in placed:
            continue
        placed.add(node_id)
        order.append(node_id)
        for target in moves.get(node_id, []):
            waiting[target] -= 1
            if waiting[target] == 0 and target not in placed:
                heapq.heappush(ready, (rank[target], target))
    return [dialog.node(n) for n in order] + [n for n in dialog.nodes if n.id not in rank]


def _breadth_first(start: str, moves: graph.Edges) -> list[str]:
    order, index = [start], 0
    while index < len(order):
        order += [t for t in moves.get(order[index], []) if t not in order]
        index += 1
    return order


@dataclass(frozen=True)
class Checkin:
    """The check-in dialog a book shows after the main one, with its proof and flow picture."""

    dialog: Dialog
    report: proofs.ProofReport
    picture: str | None


CHECKIN_AT = "checkin-"   # before every anchor of the check-in's part, so none repeats the main


def checkin_of(bundle: Bundle, dialog: Dialog, locale: Locale) -> Checkin | None:
    """The check-in that follows up `dialog`'s results, proven and drawn; None if it has none."""
    checkin = bundle.checkin_for(dialog)
    if checkin is None:
        return None
    return Checkin(checkin, proofs.prove(checkin), flow_picture(checkin, locale, CHECKIN_AT))


def level_names(locale: Locale) -> dict[TriageLevel, Level]:
    """Each triage level with its title in `locale`, as the cards show it."""
    return {level: Level(level.value, locale.text(f"triage.{level.value}.title"))
            for level in LEVELS}


def book_context(dialog: Dialog, locales: Sequence[Locale], report: proofs.ProofReport,
                 picture: str | None, generated: date, content_hash: str | None = None,
                 checkin: Checkin | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain data. `picture` is the flow as SVG text;
    `content_hash` is what a sign-off of this content names (bot.content.signoff; the
    bundle's, which covers every dialog and every language, not only those in the book);
    `checkin` is the dialog that follows up this one's results, shown after it."""
    texts = Texts(locales)
    first = locales[0]
    chrome = chrome_for(first.language)
    levels = level_names(first)
    main = _part(dialog, report, picture, texts, levels, first, "")
    follow_up = None if checkin is None else _checkin_part(dialog, checkin, texts, levels, first)
    level_texts = [(levels[level], texts(f"triage.{level.value}.title"),
                    texts(f"triage.{level.value}.todo")) for level in LEVELS]
    dialog_texts = [(chrome[role], texts(key)) for role, key in _roles(dialog) if key]
    summary = summary_part(dialog, texts, first)
    rest = appendix(locales, texts, GROUPS.get(first.language, GROUPS["en"]),
                    chrome["group_other"])
    reviewed = [dialog] + ([checkin.dialog] if checkin else [])
    return {
        **main,
        "ui": chrome,
        "lang": first.language,
        "languages": [(locale.language, LANGUAGE_NAMES.get(locale.language, locale.language))
                      for locale in locales],
        "dialog": {"id": dialog.id, "version": dialog.version, "hash": dialog.content_hash,
                   "content": content_hash or signoff.content_hash(
                       reviewed, {locale.language: locale for locale in locales})},
        "generated": generated.isoformat(),
        "main": main,
        "checkin": follow_up,
        "levels": level_texts,
        "dialog_texts": dialog_texts,
        "summary": summary,
        "appendix": rest,
    }


def _part(dialog: Dialog, report: proofs.ProofReport, picture: str | None, texts: Texts,
          levels: dict[TriageLevel, Level], first: Locale, at: str) -> dict[str, Any]:
    """One dialog's cards, proof and picture: the same for the main dialog and a check-in.
    `at` goes before each of its anchors in the page."""
    reachable = graph.reachable(dialog.start, graph.edges(dialog))
    title = texts(dialog.title)
    ordered = reading_order(dialog)
    cards = [node_card(dialog, node, texts, levels, node.id in reachable)
             for node in ordered if not isinstance(node, OutcomeNode)]
    flags = [flag_card(dialog, flag, texts, levels, first) for flag in dialog.red_flags]
    causes = [cause_card(dialog, cause, texts, levels, first) for cause in dialog.causes]
    outcomes = [outcome_card(dialog, node, texts, levels, node.id in reachable)
                for node in ordered if isinstance(node, OutcomeNode)]
    return {
        "at": at,
        "id": dialog.id,
        "version": dialog.version,
        "hash": dialog.content_hash,
        "title": title,
        "proof": proof_summary(dialog, report, first),
        "picture": Markup(picture) if picture else None,
        "screening": [card for card in cards if card.screening],
        "questions": [card for card in cards if not card.screening],
        "red_flags": flags,
        "causes": causes,
        "scoring": dialog.scoring,
        "outcomes": outcomes,
        "outcome_ids": [card.id for card in outcomes],
        "copies": frozenset(),
        "same_words": {},
    }


def _checkin_part(followed: Dialog, checkin: Checkin, texts: Texts,
                  levels: dict[TriageLevel, Level], first: Locale) -> dict[str, Any]:
    """The check-in's part, plus when it is offered, what it copies, and its own texts."""
    dialog = checkin.dialog
    part = _part(dialog, checkin.report, checkin.picture, texts, levels, first, CHECKIN_AT)
    chrome = chrome_for(first.language)
    main_keys = dict(_roles(followed))
    return {
        **part,
        "follows": followed.id,
        "offers": offers(followed, dialog, levels, LEVELS),
        "copies": copies(dialog, followed),
        "same_words": same_words(dialog, followed),
        "dialog_texts": [(chrome[role], texts(key)) for role, key in _roles(dialog)
                         if key and key != main_keys[role]],
    }


def _roles(dialog: Dialog) -> list[tuple[str, str | None]]:
    """The texts under every result, by the book's word for their role."""
    return [("role_disclaimer", dialog.texts.disclaimer),
            ("role_safety_net", dialog.texts.safety_net),
            ("role_no_clear_cause", dialog.texts.no_clear_cause),
            ("role_several_causes", dialog.texts.several_causes)]


def render_book(context: dict[str, Any]) -> str:
    return render_page("book.html.j2", context)


def book_html(dialog: Dialog, locales: Sequence[Locale], report: proofs.ProofReport,
              picture: str | None, generated: date, content_hash: str | None = None,
              checkin: Checkin | None = None) -> str:
    return render_book(book_context(dialog, locales, report, picture, generated, content_hash,
                                    checkin))


def flow_picture(dialog: Dialog, locale: Locale, at: str = "") -> str | None:
    """The flow as SVG text to put inline, or None when Graphviz's `dot` is missing. `at` goes
    before the picture's own ids, so that two pictures in one page share none."""
    try:
        svg = flowchart.render(flowchart.flow_of(dialog, locale), "svg").decode("utf-8")
    except flowchart.GraphvizMissing:
        return None
    svg = svg[svg.find("<svg"):]
    return SVG_ID.sub(lambda found: f'{found[1]}{at}', svg) if at else svg
