"""Texts by key from `locales/<lang>.yaml`, filled with parameters and locale variables.

The dialog names texts only by key. Code-owned texts (errors, headings, buttons) are listed in
UI_TEXTS with the parameters the code supplies, so `kebas check` can insist that every locale
has them and that their `{placeholders}` are ones the code fills in.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from bot.core.problems import Position

VARS_PREFIX = "vars."
DEFAULT_LANGUAGE = "id"
# how each language names itself, for the language buttons and the review book
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}

# Telegram's command menu, in the order it shows it. A command's key is its English name and
# names its description, `command.<key>` in every locale.
MENU_COMMANDS = ("start", "back", "restart", "cancel", "help", "privacy", "delete", "language",
                 "summary")
# How a check-in's runner says the numbness went since the result it follows up (the options
# of its "how is it now?" question); the summary prints `summary.course.<option>`, a
# clinician's words for it.
COURSE_PREFIX = "summary.course."
COURSES = ("better", "same", "worse", "danger")
# What each language calls the menu commands; a language not listed has the default's names.
# Every name works in every chat (the Telegram channel's COMMAND_TABLE).
COMMAND_NAMES: dict[str, dict[str, str]] = {
    "id": {"start": "mulai", "back": "kembali", "restart": "ulang", "cancel": "batal",
           "help": "bantuan", "privacy": "privasi", "delete": "hapus", "language": "bahasa",
           "summary": "ringkasan"},
    "en": {key: key for key in MENU_COMMANDS},
}
# Every name some language's menu shows.
TELEGRAM_COMMANDS = tuple(dict.fromkeys(
    name for names in COMMAND_NAMES.values() for name in names.values()))
# The most characters Telegram takes for what it shows about the bot (setMyDescription,
# setMyShortDescription, setMyCommands); a longer text is refused.
TEXT_LIMITS = {"bot.description": 512, "bot.short_description": 120,
               **{f"command.{key}": 256 for key in MENU_COMMANDS}}

# key -> the parameters the code passes when it shows that text
UI_TEXTS: dict[str, frozenset[str]] = {
    key: frozenset(params) for key, params in {
        "common.yes": (),
        "common.no": (),
        "common.unsure": (),
        "common.done": (), "checkin.followed": ("level",),
        "error.not_an_option": (),
        "error.pick_a_button": (),
        "error.pick_at_least_one": (),
        "error.exclusive_with_others": ("option",),
        "error.not_a_number": (),
        "error.not_a_whole_number": (),
        "error.number_out_of_range": ("min", "max"),
        "error.finished": (),
        "error.stale_button": (),
        "info.nothing_to_undo": (),
        "info.went_back": (),
        "info.restarted": (),
        "info.resumed": (),
        "info.dialog_updated": (),
        "outcome.triage_heading": (),
        "outcome.red_flags_heading": (),
        "outcome.causes_heading": (),
        "outcome.cause_line": ("rank", "title"),
        "outcome.todo_heading": (),
        "outcome.safety_net_heading": (),
        "triage.emergency.title": (),
        "triage.emergency.todo": (),
        "triage.urgent.title": (),
        "triage.urgent.todo": (),
        "triage.soon.title": (),
        "triage.soon.todo": (),
        "triage.self_care.title": (),
        "triage.self_care.todo": (),
        "red_flag.heading": (),
        "why.heading": (),
        "why.level": ("level",),
        "why.by_red_flag": ("title",),
        "why.by_cause": ("title",),
        "why.by_floor": (),
        "why.flag": ("title",),
        "why.cause": ("title", "points"),
        "why.answer": ("question", "answer"),
        "why.nothing": (),
        "multi.hint": (),
        "multi.selected": ("options",),
        "console.welcome": (),
        "console.help": (),
        "console.prompt_choice": ("count",),
        "console.prompt_multi": ("count",),
        "console.prompt_number": ("min", "max"),
        "console.answered": ("answer",),
        "console.bye": (),
        "console.finished": (),
        "console.followup_offer": ("days",), "console.followup_set": ("date",),
        "console.followup_unavailable": (),
        # Telegram
        "tg.welcome": (), "tg.consent": ("retention_days",), "tg.consent_agree": (),
        "tg.consent_decline": (),
        "tg.consent_given": (), "tg.declined": (), "tg.need_consent": (),
        "tg.already_consented": (),
        "tg.continue_or_restart": (), "tg.continue": (), "tg.restart": (),
        "tg.cancelled": ("retention_days",), "tg.nothing_to_cancel": (), "tg.help": (),
        "tg.privacy": ("retention_days",),
        "tg.delete_confirm": (), "tg.delete_yes": (), "tg.delete_no": (), "tg.deleted": (),
        "tg.delete_kept": (), "tg.delete_expired": (), "tg.language_prompt": (),
        "tg.language_set": (),
        "tg.private_only": (), "tg.unsupported": (), "tg.too_long": (),
        "tg.unknown_command": (), "tg.forged": (), "tg.late": (), "tg.already_recorded": (),
        "tg.sorry": (),
        "tg.answered": ("answer",), "tg.after_outcome": (), "tg.edited": (),
        "tg.forwarded": (), "tg.old_reply": (), "tg.flood": (), "tg.why_button": (),
        "tg.followup_button": ("days",), "tg.followup_set": ("date",),
        "tg.followup_unavailable": (), "tg.followup_cancelled": (),
        "tg.reloaded": ("dialog", "version"), "tg.reload_failed": ("problems",),
        # the review status, filled into {reviewed} (bot.content.signoff)
        "signoff.draft": (), "signoff.reviewed": ("reviewer", "registration", "date"),
        # the summary for the doctor (/ringkasan; bot.core.summary)
        "tg.summary_button": (), "summary.heading": (), "summary.anamnesis": (),
        "summary.incomplete": (), "summary.date": ("date",), "summary.not_asked": (),
        "summary.not_yet": (), "summary.no_result": (), "summary.none": (),
        "summary.level_so_far": ("level", "flags"),
        "summary.red_flags": (), "summary.triage": (), "summary.level": ("level", "reasons"),
        "summary.causes": (), "summary.cause": ("title", "points"),
        "summary.evidence": ("label", "term"), "summary.dialog": ("dialog", "version", "hash"),
        "summary.other_version": ("dialog", "version", "hash"), "summary.disclaimer": (),
        "summary.pdf_caption": (), "summary.nothing": (),
        # a check-in after the session summarised: its date, and the runner's answer to "how
        # is it now?" (the check-in's first screening question) in a clinician's words
        "summary.checkin": ("date",), "summary.checkin_answer": (),
        **{f"{COURSE_PREFIX}{course}": () for course in COURSES},
        # /statistik (admins)
        "stats.heading": (), "stats.recent": ("days", "since"), "stats.all_time": (),
        "stats.none": (),
        "stats.sessions": ("started", "finished", "completion", "abandoned", "active"),
        "stats.triage": ("levels",), "stats.outcomes": ("outcomes",),
        "stats.red_flags": ("sessions", "rate", "flags"), "stats.median": ("minutes",),
        "stats.drop_off": ("questions",), "stats.sources": ("sources",),
        "stats.no_sources": (), "stats.chart_title": (), "stats.chart_reached": (),
        "stats.chart_stopped": (), "stats.chart_waiting": (), "stats.chart_axis": (),
        # what Telegram shows about the bot: its profile and command menu
        "bot.description": (), "bot.short_description": (),
        **{f"command.{key}": () for key in MENU_COMMANDS},
    }.items()
}

_FORMATTER = string.Formatter()


def placeholders(text: str) -> set[str] | None:
    """Names used as `{name}` in a text; None when the braces are malformed."""
    try:
        return {name for _literal, name, _spec, _conv in _FORMATTER.parse(text) if name}
    except ValueError:
        return None


@dataclass(frozen=True)
class Locale:
    """One language's texts, flattened to dotted keys (`q.chest_pain`)."""

    language: str
    file: str
    texts: dict[str, str]
    positions: dict[str, Position] = field(default_factory=dict, compare=False)

    @property
    def variables(self) -> dict[str, str]:
        return {key[len(VARS_PREFIX):]: value for key, value in self.texts.items()
                if key.startswith(VARS_PREFIX)}

    def position(self, key: str) -> Position:
        return self.positions.get(key, Position(self.file, 1, 1))

    def text(self, key: str, **params: Any) -> str:
        """The text for `key`; a missing key shows itself rather than crashing a conversation."""
        template = self.texts.get(key)
        if template is None:
            return f"[{key}]"
        values = _Fill(self.texts, {name: str(value) for name, value in params.items()})
        try:
            return template.format_map(values)
        except (ValueError, IndexError):
            return template


class _Fill(dict[str, str]):
    """The params, then the locale's variables (looked up only when a text uses one: this is
    on every reply's path); an unknown `{name}` stays visible instead of raising."""

    def __init__(self, texts: dict[str, str], params: dict[str, str]) -> None:
        super().__init__(params)
        self.texts = texts

    def __missing__(self, name: str) -> str:
        return self.texts.get(VARS_PREFIX + name, "{" + name + "}")


def command_menu(language: str) -> dict[str, str]:
    """The menu commands' names in `language`, by key, in menu order."""
    names = COMMAND_NAMES.get(language, COMMAND_NAMES[DEFAULT_LANGUAGE])
    return {key: names[key] for key in MENU_COMMANDS}


def command_names(key: str) -> tuple[str, ...]:
    """Every language's name for a menu command (Indonesian first)."""
    return tuple(dict.fromkeys(names[key] for names in COMMAND_NAMES.values()))


def pick_language(requested: str | None, locales: dict[str, Locale]) -> str:
    """The requested language if we have it (`en-GB` counts as `en`), else Indonesian."""
    if requested:
        base = requested.lower().replace("_", "-").split("-")[0]
        if base in locales:
            return base
    if DEFAULT_LANGUAGE in locales:
        return DEFAULT_LANGUAGE
    return sorted(locales)[0]
