"""`kebas stats` and `/statistik`: how the bot is used, counted from the sessions table and
the starts from links (t.me/<bot>?start=SOURCE).

A pure core (`usage`, `starts_in`) turns plain rows from the store into numbers; renderers make
them rich tables for a terminal, an HTML report with charts, or a short Telegram summary with
the funnel chart. Nothing here ever shows who a runner is or anything they typed: only counts,
node ids, link sources and the dialog's own texts.
"""

from __future__ import annotations

import base64
import io
import statistics
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.core.graph import edges
from bot.core.i18n import Locale
from bot.core.model import Dialog, TriageLevel, is_question
from bot.core.render import Line, Message, shorten
from bot.storage import ABANDONED, ACTIVE, FINISHED, SOURCES_A_DAY, StartCount, UsageRow
from bot.tools.pages import render_page

LABEL_LENGTH = 60
LINKS = "t.me/<bot>?start=SOURCE"
RECENT_DAYS = 30
TOP = 3  # red flags and drop-off questions named in the Telegram summary

DEFINITIONS = (
    "started: sessions begun in the window, whatever became of them",
    "finished: reached a result; completion rate = finished / started",
    "abandoned: the runner restarted or cancelled before a result; in progress: still open",
    "funnel: questions in dialog order (fewest steps from the start first); reached = sessions "
    "that answered it (on their path as it stands) or stand at it; dropped here = sessions "
    "without a result (abandoned or in progress) whose last position is that question",
    "triage and outcome mix: finished sessions only",
    "red-flag rate = sessions in which at least one red flag fired / started",
    "median time to finish: from starting to the result, finished sessions only",
    "times are UTC; a date means from 00:00 UTC that day",
    f"starts from links: /start from a link {LINKS} (or typed so), per source and day, "
    f"before consent too and whatever followed; a language code alone (id, en) is no source; "
    f"past {SOURCES_A_DAY} sources a day, a new one counts as 'other'",
)


# --- the numbers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    id: str
    label: str
    count: int


@dataclass(frozen=True)
class FunnelStep:
    node: str
    label: str          # the question's shortened text, or its id when the dialog lacks it
    reached: int
    dropped: int        # sessions without a result standing here: abandoned or in progress
    waiting: int = 0    # of those, in progress


@dataclass(frozen=True)
class Usage:
    since: date | None
    started: int
    finished: int
    abandoned: int
    active: int
    funnel: tuple[FunnelStep, ...]
    triage: tuple[Count, ...]       # every level, most urgent first
    outcomes: tuple[Count, ...]     # most frequent first
    red_flag_sessions: int
    red_flags: tuple[Count, ...]    # most frequent first
    median_minutes: float | None

    @property
    def empty(self) -> bool:
        return self.started == 0

    @property
    def completion(self) -> float | None:
        return self.finished / self.started if self.started else None

    @property
    def red_flag_rate(self) -> float | None:
        return self.red_flag_sessions / self.started if self.started else None

    def mixes(self) -> list[tuple[str, str, tuple[Count, ...], int]]:
        """(name, title, counts, what the shares are of) for the tables and bar charts."""
        return [("triage", "Triage mix (finished sessions)", self.triage, self.finished),
                ("outcomes", "Outcome mix (finished sessions)", self.outcomes, self.finished),
                ("red_flags", "Red flags (sessions in which each fired)", self.red_flags,
                 self.started)]

    @property
    def dropped_most(self) -> list[FunnelStep]:
        return sorted((step for step in self.funnel if step.dropped),
                      key=lambda step: -step.dropped)


def since_moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def usage(rows: Iterable[UsageRow], dialog: Dialog | None = None, locale: Locale | None = None,
          since: date | None = None) -> Usage:
    """The numbers for the dialog's sessions started on or after `since` (UTC); the locale
    only labels the questions, and sessions on the dialog's other versions still count."""
    rows = [row for row in rows if (since is None or row.started_at >= since_moment(since))
            and (dialog is None or row.dialog_id == dialog.id)]  # not its check-ins
    status = Counter(row.status for row in rows)
    finished = [row for row in rows if row.status == FINISHED]
    reached: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    for row in rows:
        path = set(row.answered)
        if row.status != FINISHED:
            path.add(row.node)
            dropped[row.node] += 1
            waiting[row.node] += row.status == ACTIVE
        reached.update(path)
    order = _question_order(dialog, rows)
    # every question of the dialog, reached or not: a question nobody reaches is news too
    questions = set(reached) | {node.id for node in dialog.nodes if is_question(node)} \
        if dialog is not None and rows else set(reached)
    funnel = tuple(FunnelStep(node, _question_label(node, dialog, locale), reached[node],
                              dropped[node], waiting[node])
                   for node in sorted(questions, key=order))
    triage = Counter(row.triage for row in finished if row.triage)
    levels = [level.value for level in sorted(TriageLevel, key=lambda level: -level.rank)]
    levels += sorted(set(triage) - set(levels))
    fired = [row for row in rows if row.fired]
    minutes = [(row.finished_at - row.started_at).total_seconds() / 60 for row in finished
               if row.finished_at is not None]
    return Usage(
        since=since, started=len(rows), finished=len(finished), abandoned=status[ABANDONED],
        active=status[ACTIVE], funnel=funnel,
        triage=tuple(Count(level, level, triage[level]) for level in levels),
        outcomes=_counts(Counter(row.outcome or row.node for row in finished),
                         lambda node: node),
        red_flag_sessions=len(fired),
        red_flags=_counts(Counter(flag for row in fired for flag in set(row.fired)),
                          lambda flag: _flag_label(flag, dialog, locale)),
        median_minutes=statistics.median(minutes) if minutes else None)


def _counts(counter: Counter[str], label: Any) -> tuple[Count, ...]:
    return tuple(Count(key, label(key), count)
                 for key, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _question_order(dialog: Dialog | None, rows: list[UsageRow]) -> Any:
    """Sort key: the dialog's questions by fewest steps from the start, then file order; nodes
    it does not know (older versions) after them, by where they usually came in a session."""
    known: dict[str, tuple[int, int]] = {}
    if dialog is not None:
        graph = edges(dialog)
        distance = {dialog.start: 0}
        queue = deque([dialog.start])
        while queue:
            here = queue.popleft()
            for target in graph.get(here, []):
                if target not in distance:
                    distance[target] = distance[here] + 1
                    queue.append(target)
        for index, node in enumerate(dialog.nodes):
            if is_question(node):
                known[node.id] = (distance.get(node.id, len(dialog.nodes)), index)
    positions: dict[str, list[int]] = {}
    for row in rows:
        path = list(row.answered) + ([row.node] if row.status != FINISHED else [])
        for index, node_id in enumerate(path):
            positions.setdefault(node_id, []).append(index)

    def key(node: str) -> tuple[int, float, float, str]:
        if node in known:
            return (0, *known[node], node)
        return (1, statistics.fmean(positions.get(node, [0])), 0, node)
    return key


def _question_label(node_id: str, dialog: Dialog | None, locale: Locale | None) -> str:
    node = dialog.node_by_id.get(node_id) if dialog is not None else None
    if node is None or locale is None or not is_question(node):
        return node_id
    return shorten(locale.text(node.text), LABEL_LENGTH)


def _flag_label(flag_id: str, dialog: Dialog | None, locale: Locale | None) -> str:
    flag = next((flag for flag in dialog.red_flags if flag.id == flag_id), None) \
        if dialog is not None else None
    return locale.text(flag.title) if flag is not None and locale is not None else flag_id


# --- starts from links ------------------------------------------------------------------


@dataclass(frozen=True)
class LinkStarts:
    """Starts from links by source: (source, since `since`, all time), most in all first."""

    since: date
    sources: tuple[tuple[str, int, int], ...]


def starts_in(counts: Iterable[StartCount], since: date | None = None) -> tuple[Count, ...]:
    """Starts from links by source on or after `since` (UTC; None: all time), most first."""
    totals: Counter[str] = Counter()
    for count in counts:
        if since is None or count.day >= since:
            totals[count.source] += count.starts
    return _counts(totals, lambda source: source)


def link_starts(counts: Sequence[StartCount], since: date) -> LinkStarts:
    recent = {count.id: count.count for count in starts_in(counts, since)}
    return LinkStarts(since, tuple((count.id, recent.get(count.id, 0), count.count)
                                   for count in starts_in(counts)))


# --- plain words ------------------------------------------------------------------------


def percent(rate: float | None, decimal: str = ".") -> str:
    return "–" if rate is None else f"{rate:.1%}".replace(".", decimal)


def _decimal(locale: Locale) -> str:
    """Indonesian writes 12,5 % where English writes 12.5 %."""
    return "," if locale.language == "id" else "."


def minutes_text(minutes: float | None, decimal: str = ".") -> str:
    return "–" if minutes is None else f"{minutes:.1f}".replace(".", decimal)


def scope(numbers: Usage, dialog_id: str | None) -> str:
    window = f"sessions started since {numbers.since.isoformat()} (UTC)" \
        if numbers.since else "all sessions"
    return f"{window} of dialog {dialog_id}" if dialog_id else f"{window} (every dialog)"


def nothing_yet(numbers: Usage) -> str:
    return f"no sessions since {numbers.since.isoformat()}" if numbers.since \
        else "no sessions yet"


def summary_rows(numbers: Usage) -> list[tuple[str, str]]:
    return [
        ("started", str(numbers.started)),
        ("finished", str(numbers.finished)),
        ("completion rate", percent(numbers.completion)),
        ("abandoned (restarted or cancelled)", str(numbers.abandoned)),
        ("in progress", str(numbers.active)),
        ("sessions with a red flag", str(numbers.red_flag_sessions)),
        ("red-flag rate", percent(numbers.red_flag_rate)),
        ("median time to finish (minutes)", minutes_text(numbers.median_minutes)),
    ]


# --- terminal ---------------------------------------------------------------------------


def usage_tables(numbers: Usage, dialog_id: str | None, width: int,
                 links: LinkStarts | None = None) -> list[Any]:
    """The numbers for a terminal `width` columns wide: rich markup and tables, in order
    (the starts from links too, when given)."""
    from rich.markup import escape

    shown: list[Any] = [f"[bold]Kebas usage[/bold]: {escape(scope(numbers, dialog_id))}"]
    shown += [nothing_yet(numbers)] if numbers.empty else _session_tables(numbers, width)
    if links is not None:
        shown.append(_links_table(links))
    if links is not None or not numbers.empty:
        shown.append("\n".join(f"[dim]{escape(line)}[/dim]" for line in DEFINITIONS))
    return shown


def _session_tables(numbers: Usage, width: int) -> list[Any]:
    from rich.markup import escape
    from rich.table import Table

    shown: list[Any] = []
    summary = Table(title="Sessions", show_header=False, title_justify="left")
    summary.add_column("what")
    summary.add_column("number", justify="right")
    for name, value in summary_rows(numbers):
        summary.add_row(name, escape(value))
    shown.append(summary)

    funnel = Table(title="Funnel (questions in dialog order)", title_justify="left")
    widest = max(len(step.node) for step in numbers.funnel)
    funnel.add_column("question", no_wrap=True, min_width=widest)
    for name in ("reached", "% of started", "dropped here"):
        funnel.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    # whatever width is left shows the start of the question's text
    room = width - widest - len("reached% of starteddropped here") - 16
    funnel.add_column("text", overflow="ellipsis", no_wrap=True,
                      max_width=max(8, min(LABEL_LENGTH, room)))
    for step in numbers.funnel:
        funnel.add_row(escape(step.node), str(step.reached),
                       percent(step.reached / numbers.started), str(step.dropped),
                       "" if step.label == step.node else escape(step.label))
    shown.append(funnel)

    for _name, title, counts, whole in numbers.mixes():
        if not counts:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("id", no_wrap=True)
        table.add_column("sessions", justify="right")
        table.add_column("share", justify="right")
        for count in counts:
            table.add_row(escape(count.id), str(count.count),
                          percent(count.count / whole if whole else None))
        shown.append(table)
    return shown


def _links_table(links: LinkStarts) -> Any:
    from rich.markup import escape
    from rich.table import Table

    if not links.sources:
        return f"no starts from links ({LINKS}) yet"
    table = Table(title=f"Starts from links ({escape(LINKS)})", title_justify="left")
    table.add_column("source", no_wrap=True)
    for name in (f"since {links.since.isoformat()}", "all time"):
        table.add_column(name, justify="right", no_wrap=True)
    for source, recent, total in links.sources:
        table.add_row(escape(source), str(recent), str(total))
    return table


# --- HTML -------------------------------------------------------------------------------

TRIAGE_COLOURS = {"emergency": "#c0392b", "urgent": "#e67e22", "soon": "#f1c40f",
                  "self_care": "#27ae60"}


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


@dataclass(frozen=True)
class ChartWords:
    """The words on the funnel chart: English in `kebas stats --html`, the admin's language
    on /statistik's photo."""

    title: str = "Funnel: sessions reaching each question"
    reached: str = "reached"
    stopped: str = "stopped here (abandoned)"
    waiting: str = "in progress here"
    axis: str = "sessions"


def chart_words(locale: Locale) -> ChartWords:
    return ChartWords(*(locale.text(f"stats.chart_{name}")
                        for name in ("title", "reached", "stopped", "waiting", "axis")))


def funnel_figure(numbers: Usage, words: ChartWords = ChartWords()) -> Any:
    """The funnel as a matplotlib Figure; None without sessions. Sessions in progress are not
    drawn as stopped: they may yet go on."""
    from matplotlib.figure import (
        Figure,  # Agg canvas; pyplot's global state is never touched
    )

    if not numbers.funnel:
        return None
    steps = numbers.funnel
    figure = Figure(figsize=(8, 1 + 0.32 * len(steps)), layout="constrained")
    axes = figure.add_subplot()
    names = [step.node for step in steps]
    bars = axes.barh(names, [step.reached for step in steps], color="#5b8def",
                     label=words.reached)
    axes.bar_label(bars, padding=3)
    stopped = [step.dropped - step.waiting for step in steps]
    axes.barh(names, stopped, color="#c0392b", label=words.stopped)
    axes.barh(names, [step.waiting for step in steps], left=stopped, color="#95a5a6",
              label=words.waiting)
    _whole_sessions(axes)
    axes.invert_yaxis()
    axes.set_xlabel(words.axis)
    axes.set_title(words.title)
    axes.legend(loc="lower right")
    return figure


def _whole_sessions(axes: Any) -> None:
    """Ticks at whole numbers: there is no quarter of a session."""
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def funnel_png(numbers: Usage, words: ChartWords = ChartWords()) -> bytes | None:
    """The funnel as a PNG (the HTML report's and /statistik's photo); None without sessions."""
    figure = funnel_figure(numbers, words)
    return None if figure is None else _png(figure)


def charts(numbers: Usage) -> dict[str, str]:
    """Base64 PNGs: the funnel, and bars for the triage, outcome and red-flag mix."""
    from matplotlib.figure import Figure

    funnel = funnel_png(numbers)
    pictures: dict[str, bytes] = {} if funnel is None else {"funnel": funnel}
    for name, title, counts, _whole in numbers.mixes():
        if not any(count.count for count in counts):
            continue
        figure = Figure(figsize=(8, 1.2 + 0.35 * len(counts)), layout="constrained")
        axes = figure.add_subplot()
        bars = axes.barh([count.id for count in counts], [count.count for count in counts],
                         color=[TRIAGE_COLOURS.get(count.id, "#5b8def") for count in counts])
        axes.bar_label(bars, padding=3)
        _whole_sessions(axes)
        axes.invert_yaxis()
        axes.set_xlabel("sessions")
        axes.set_title(title)
        pictures[name] = _png(figure)
    return {name: base64.b64encode(png).decode("ascii") for name, png in pictures.items()}


def html_report(numbers: Usage, dialog_id: str | None, generated: datetime,
                links: LinkStarts | None = None, followups: Any = None) -> str:
    """The report as one HTML page; `followups`: `followup_stats`' numbers, when counted."""
    return render_page("stats.html.j2", {
        "usage": numbers, "followups": followups, "scope": scope(numbers, dialog_id),
        "nothing": nothing_yet(numbers),
        "summary": summary_rows(numbers), "charts": {} if numbers.empty else charts(numbers),
        "links": links, "links_form": LINKS, "definitions": DEFINITIONS, "percent": percent,
        "generated": generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")})


# --- Telegram ---------------------------------------------------------------------------


def telegram_summary(rows: Sequence[UsageRow], dialog: Dialog | None, locale: Locale,
                     now: datetime, starts: Sequence[StartCount] = ()) -> Message:
    """The last days and all time, in the admin's language, for `/statistik`: the sessions'
    numbers, then the starts from links by source (start=SOURCE, as the links are written)."""
    recent = (now.astimezone(UTC) - timedelta(days=RECENT_DAYS)).date()
    lines = [Line(locale.text("stats.heading"), strong=True)]
    for since, heading in ((recent, locale.text("stats.recent", days=RECENT_DAYS,
                                                since=recent.isoformat())),
                           (None, locale.text("stats.all_time"))):
        lines += [Line(""), Line(heading, strong=True)]
        lines += _summary_lines(usage(rows, dialog, locale, since), locale)
        found = starts_in(starts, since)
        lines.append(Line(locale.text("stats.sources", sources=listed(
            (f"start={count.id}", count.count) for count in found)) if found
            else locale.text("stats.no_sources")))
    return Message(tuple(lines))


def telegram_chart(rows: Sequence[UsageRow], dialog: Dialog | None, locale: Locale
                   ) -> bytes | None:
    """The funnel of all time as a PNG, for `/statistik`'s photo; None without sessions."""
    return funnel_png(usage(rows, dialog, locale), chart_words(locale))


def listed(pairs: Iterable[tuple[str, int]]) -> str:
    return "; ".join(f"{name}: {number}" for name, number in pairs if number) or "–"


def _summary_lines(numbers: Usage, locale: Locale) -> list[Line]:
    if numbers.empty:
        return [Line(locale.text("stats.none"))]
    levels = listed((locale.text(f"triage.{count.id}.title"), count.count)
                    for count in numbers.triage)
    outcomes = listed((count.id, count.count) for count in numbers.outcomes)
    flags = listed((count.label, count.count) for count in numbers.red_flags[:TOP])
    dropped = listed((step.node, step.dropped) for step in numbers.dropped_most[:TOP])
    return [Line(text) for text in (
        locale.text("stats.sessions", started=numbers.started, finished=numbers.finished,
                    completion=percent(numbers.completion, _decimal(locale)),
                    abandoned=numbers.abandoned, active=numbers.active),
        locale.text("stats.triage", levels=levels),
        locale.text("stats.outcomes", outcomes=outcomes),
        locale.text("stats.red_flags", sessions=numbers.red_flag_sessions,
                    rate=percent(numbers.red_flag_rate, _decimal(locale)), flags=flags),
        locale.text("stats.median", minutes=minutes_text(numbers.median_minutes,
                                                         _decimal(locale))),
        locale.text("stats.drop_off", questions=dropped),
    )]
