"""The summary for the doctor: a session's answers in clinical terms, its red flags, triage and
causes with the answers behind them, and what content made it.

Read from the stored state alone, on request (nothing is kept of it): only `answers` and the
stored result ("why" trace) are read, never facts, so nothing the runner did not say is shown.
A field whose questions were not answered says whether they may still come ("not yet
answered", in a session still going on) or never will ("not asked"). The layout it returns
(`ClinicalSummary`) is the one the message, the console and the PDF all render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.core import graph
from bot.core.followup import DATE_FORMAT
from bot.core.i18n import COURSE_PREFIX, Locale
from bot.core.inputs import plain_number
from bot.core.model import (
    Dialog,
    NumberQuestion,
    SummaryLine,
    TriageLevel,
    clinical_term_key,
    is_question,
    options_of,
)
from bot.core.outcome import answers_produced, flag_view
from bot.core.state import Because, State

ONE_LINE = 90  # evidence cut to this many characters shares one line with its label
ELLIPSIS = "…"
# how much of each evidence value is kept, in turn, until a summary fits its page or message
EVIDENCE_CUTS = (None, 600, 300, 160, ONE_LINE)


@dataclass(frozen=True)
class Row:
    """A field and its value; `label` None for a value that stands alone (e.g. "none")."""

    label: str | None
    value: str


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[Row, ...]
    evidence: bool = False  # its values are evidence, which a full page may cut short


@dataclass(frozen=True)
class ClinicalSummary:
    heading: str
    date: str
    incomplete: str | None  # the "incomplete" mark of a session not finished
    sections: tuple[Section, ...]
    footer: tuple[str, ...]  # the dialog, version, content hash and review; the disclaimer


def clinical_summary(dialog: Dialog, state: State, locale: Locale, *, active: bool,
                     updated_at: datetime, serving_hash: str,
                     lines: Sequence[SummaryLine] | None = None) -> ClinicalSummary:
    """The summary of one session, in `locale`'s language.

    `dialog` is the one the session runs on; `active` whether it may still be answered;
    `updated_at` its last change, in the zone to show; `serving_hash` the content served now
    (whose review status the locale's `{reviewed}` holds). `lines` stand in for a dialog
    version written before it had a `summary:` (the serving dialog's lines).
    """
    terms = _Terms(dialog, locale, lines if lines is not None else dialog.summary)
    outcome = state["outcome"]
    waiting = _still_askable(dialog, state) if active and outcome is None else set()
    answered = {answer["node"]: answer["value"] for answer in state["answers"]}
    history = tuple(Row(locale.text(line.label), _line_value(line, answered, waiting, terms))
                    for line in terms.lines)
    # what was advised and why first: a doctor reading an emergency summary needs it at once
    flags, triage, causes = _result_sections(dialog, state, terms)
    sections = (triage, flags, Section(locale.text("summary.anamnesis"), history), causes)
    content_hash = state.get("hash", "")
    made_with = {"dialog": state["dialog"], "version": state["version"],
                 "hash": content_hash or "-"}
    footer = (locale.text("summary.dialog" if content_hash == serving_hash
                          else "summary.other_version", **made_with),
              locale.text("summary.disclaimer"))
    return ClinicalSummary(
        heading=locale.text("summary.heading"),
        date=locale.text("summary.date", date=updated_at.strftime(DATE_FORMAT)),
        incomplete=locale.text("summary.incomplete") if outcome is None else None,
        sections=sections, footer=footer)


def _result_sections(dialog: Dialog, state: State, terms: _Terms) -> list[Section]:
    """Red flags fired (with the answers that fired them), the triage and its reason, and
    the causes shown with their evidence; for a session not finished, the flags so far."""
    locale, outcome = terms.locale, state["outcome"]
    none = (Row(None, locale.text("summary.none")),)
    sections = [Section(locale.text("summary.red_flags"), _fired(dialog, state, terms) or none,
                        evidence=True)]
    if outcome is None:
        no_result = (Row(None, locale.text("summary.no_result")),)
        return sections + [Section(locale.text("summary.triage"),
                                   (Row(None, _level(dialog, state, terms)),)),
                           Section(locale.text("summary.causes"), no_result)]
    causes_by_id = {cause.id: cause for cause in dialog.causes}
    causes = tuple(Row(locale.text("summary.cause", points=cause["points"],
                                   title=terms.title(causes_by_id.get(cause["id"]),
                                                     cause["id"])),
                       terms.evidence(cause["because"]))
                   for cause in outcome["causes"])
    return sections + [Section(locale.text("summary.triage"),
                               (Row(None, _level(dialog, state, terms)),), evidence=True),
                       Section(locale.text("summary.causes"), causes or none, evidence=True)]


def _fired(dialog: Dialog, state: State, terms: _Terms) -> tuple[Row, ...]:
    """The red flags fired, each with the answers that fired it (so far, when not finished)."""
    outcome = state["outcome"]
    flags_by_id = {flag.id: flag for flag in dialog.red_flags}
    if outcome is not None:
        fired = [(item["id"], item["because"]) for item in outcome["red_flags"]]
    else:
        produced = answers_produced(dialog, state)
        fired = [(flag_id, [list(pair) for pair in flag_view(flags_by_id[flag_id],
                                                             produced).because])
                 for flag_id in state["fired"] if flag_id in flags_by_id]
    return tuple(Row(terms.title(flags_by_id.get(flag_id), flag_id), terms.evidence(because))
                 for flag_id, because in fired)


def _level(dialog: Dialog, state: State, terms: _Terms) -> str:
    """A finished session's triage and what set it; before it is finished, the floor the red
    flags fired so far already set (a doctor must see an emergency at once), else "no result
    yet"."""
    locale, outcome = terms.locale, state["outcome"]
    if outcome is None:
        fired = [flag for flag in dialog.red_flags if flag.id in state["fired"]]
        most = TriageLevel.most_urgent(flag.level for flag in fired)
        if most is None:
            return locale.text("summary.no_result")
        return locale.text("summary.level_so_far",
                           level=locale.text(f"triage.{most.value}.title"),
                           flags="; ".join(terms.title(flag, flag.id) for flag in fired))
    reasons = "; ".join(_reason(source["kind"], source["id"], dialog, terms)
                        for source in outcome["level_from"])
    return locale.text("summary.level", reasons=reasons,
                       level=locale.text(f"triage.{outcome['level']}.title"))


def checkin_section(checkin: Dialog, state: State, locale: Locale, *, active: bool,
                    updated_at: datetime, lines: Sequence[SummaryLine]) -> Section:
    """The check-in that followed up the session summarised: its date, how the runner says
    it went since (in a clinician's words), the answers to the screening it asked again (on
    the summarised dialog's `lines`), the red flags they fired and the triage it gave.

    Only what the check-in's own answers hold; "incomplete" while it is going on."""
    how = checkin.screening[0] if checkin.screening else None
    course = SummaryLine(id="course", label="summary.checkin_answer",
                         questions=[how] if how else [])
    terms = _Terms(checkin, locale, [course, *lines], course=how)
    outcome = state["outcome"]
    waiting = _still_askable(checkin, state) if active and outcome is None else set()
    answered = {answer["node"]: answer["value"] for answer in state["answers"]}
    rows = [Row(None, locale.text("summary.incomplete"))] if outcome is None else []
    rows.append(Row(locale.text(course.label), _line_value(course, answered, waiting, terms)))
    rows += [Row(locale.text(line.label), _line_value(line, answered, waiting, terms))
             for line in lines if answered.keys() & set(line.questions)]
    rows += _fired(checkin, state, terms)
    rows.append(Row(locale.text("summary.triage"), _level(checkin, state, terms)))
    return Section(locale.text("summary.checkin", date=updated_at.strftime(DATE_FORMAT)),
                   tuple(rows), evidence=True)


def with_checkin(summary: ClinicalSummary, checkin: Section) -> ClinicalSummary:
    """The summary with its check-in's section after the result."""
    return replace(summary, sections=(*summary.sections, checkin))


def stored_session_summary(dialog: Dialog, serving: Dialog, state: State, locale: Locale, *,
                           active: bool, updated_at: str, zone: tzinfo) -> ClinicalSummary:
    """`clinical_summary` of a session as a store keeps it: `dialog` is the session's own,
    `serving` the one served now; `updated_at` an ISO time stamp, shown in `zone`."""
    return clinical_summary(
        dialog, state, locale, active=active, updated_at=local_time(updated_at, zone),
        serving_hash=serving.content_hash, lines=dialog.summary or serving.summary)


def local_time(stamp: str, zone: tzinfo) -> datetime:
    """A store's ISO time stamp (UTC when it names no zone) as a time in `zone`."""
    moment = datetime.fromisoformat(stamp)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def summary_text(summary: ClinicalSummary) -> str:
    """The summary as plain text (`kebas chat`; the test of the PDF's words)."""
    lines = [summary.heading.upper(), summary.date]
    if summary.incomplete:
        lines.append(summary.incomplete)
    for section in summary.sections:
        lines += ["", section.title.upper()]
        lines += [f"{row.label}: {row.value}" if row.label else row.value
                  for row in section.rows]
    return "\n".join(lines + [""] + list(summary.footer))


def cut_evidence(summary: ClinicalSummary, limit: int | None) -> ClinicalSummary:
    """The summary with each evidence value cut to `limit` characters, ending in "…" (None:
    whole), so that it fits a page or a message; the answers themselves are never cut. At
    ONE_LINE and below, a label and its evidence share one line (the label whole)."""
    if limit is None:
        return summary
    return replace(summary, sections=tuple(
        replace(section, rows=tuple(_cut(row, limit) for row in section.rows))
        if section.evidence else section for section in summary.sections))


def _cut(row: Row, limit: int) -> Row:
    label = f"{row.label}: " if limit <= ONE_LINE and row.label is not None else ""
    keep = max(limit - len(label), 12)
    value = row.value if len(row.value) <= keep else row.value[:keep - 1].rstrip() + ELLIPSIS
    return Row(None, label + value) if label else Row(row.label, value)


class _Terms:
    """Answers as a doctor writes them, and the summary line each question is on."""

    def __init__(self, dialog: Dialog, locale: Locale, lines: Sequence[SummaryLine],
                 course: str | None = None) -> None:
        self.dialog, self.locale, self.lines = dialog, locale, lines
        self.course = course  # a check-in's "how is it now?" question
        self.label_of = {question: locale.text(line.label) for line in lines
                         for question in line.questions}

    def term(self, question_id: str, value: Any) -> str:
        node = self.dialog.node_by_id.get(question_id)
        if isinstance(node, NumberQuestion) and isinstance(value, (int, float)):
            unit = f" {self.locale.text(node.unit)}" if node.unit else ""
            return f"{plain_number(value)}{unit}"
        chosen = value if isinstance(value, list) else [value]
        if question_id == self.course:
            return ", ".join(self.course_term(node, str(option)) for option in chosen)
        if not is_question(node):  # a question since removed: its answer as stored
            return ", ".join(str(option) for option in chosen)
        return ", ".join(self.locale.text(clinical_term_key(question_id, str(option)))
                         for option in chosen)

    def course_term(self, node: object, option_id: str) -> str:
        """How the runner says it went since, as a clinician writes it; the runner's own
        option text for an option that has no clinical wording."""
        key = f"{COURSE_PREFIX}{option_id}"
        if key in self.locale.texts:
            return self.locale.text(key)
        option = next((option for option in options_of(node) if option.id == option_id), None)
        return self.locale.text(option.text) if option is not None else option_id

    def evidence(self, because: Because) -> str:
        """The answers behind a conclusion: "<line label>: <term>", joined."""
        return "; ".join(
            self.locale.text("summary.evidence", term=self.term(question_id, value),
                             label=self.label_of.get(question_id, question_id))
            for question_id, value in because)

    def title(self, rule: Any, fallback: str) -> str:
        return self.locale.text(rule.title) if rule is not None else fallback


def _line_value(line: SummaryLine, answered: dict[str, Any], waiting: set[str],
                terms: _Terms) -> str:
    given = [terms.term(question, answered[question]) for question in line.questions
             if question in answered]
    if given:
        return "; ".join(given)
    if waiting & set(line.questions):
        return terms.locale.text("summary.not_yet")
    return terms.locale.text("summary.not_asked")


def _still_askable(dialog: Dialog, state: State) -> set[str]:
    """The nodes a session standing where it stands may still reach."""
    if state["node"] not in dialog.node_by_id:
        return set()
    return graph.reachable(state["node"], graph.edges(dialog))


def _reason(kind: str, source_id: str, dialog: Dialog, terms: _Terms) -> str:
    locale = terms.locale
    if kind == "red_flag":
        flag = next((flag for flag in dialog.red_flags if flag.id == source_id), None)
        return locale.text("why.by_red_flag", title=terms.title(flag, source_id))
    if kind == "cause":
        cause = next((cause for cause in dialog.causes if cause.id == source_id), None)
        return locale.text("why.by_cause", title=terms.title(cause, source_id))
    return locale.text("why.by_floor")
