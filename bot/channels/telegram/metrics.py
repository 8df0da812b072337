"""What a running bot counts for Prometheus (`/metrics`): updates, replies, retries, Telegram's
flood waits, how long an update takes, sessions in progress, storage faults and reloads.

prometheus_client keeps the numbers and writes the text format. Each bot has a registry of
its own (`BotMetrics`), not the library's global one, so two bots in one process (tests) count
apart. No label ever holds a chat id, a name or an answer: only fixed words (a kind of
update, a reload's result, a refusal's reason) and the dialog's id and version.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.core.model import Dialog
from bot.storage import STORAGE_FAULTS, Purged, SessionStore

# Each counter's `_created` series (when it was made) would double what Prometheus stores and
# tell nothing `process_start_time_seconds` does not; left out, process-wide.
disable_created_metrics()  # type: ignore[no-untyped-call]  # (the library leaves it untyped)

KINDS = ("message", "command", "button", "edited", "other")
FOLLOWUP_EVENTS = ("scheduled", "sent", "polls")
FOLLOWUP_CANCELLED_BY = ("cancel", "erased", "blocked", "consent", "retention", "superseded",
                         "no_checkin")
RECORDS = ("at_once", "later", "given_up")
# seconds: a step takes milliseconds; a reply held up by Telegram's limits takes seconds
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def kebas_version() -> str:
    try:
        return version("kebas")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def update_kind(update: Update) -> str:
    """The kind an update is counted as: typed text, a command, a button, an edit, other."""
    if update.callback_query is not None:
        return "button"
    if update.message is not None:
        return "command" if (update.message.text or "").startswith("/") else "message"
    return "edited" if update.edited_message is not None else "other"


class ActiveSessions(Collector):
    """The sessions in progress as last counted (the database is asked at each scrape); left
    out while the database cannot count them, rather than shown stale."""

    def __init__(self) -> None:
        self.count: int | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.count is not None:
            yield GaugeMetricFamily(
                "kebas_sessions_active", "Sessions in progress: begun, neither finished nor "
                "cancelled (counted in the database, so every worker on it shows the same)",
                value=self.count)


class BotMetrics:
    """One bot's counters and the registry `/metrics` writes out."""

    def __init__(self, dialog: Dialog) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # memory, CPU, open files of this process
        self.build = Info("kebas_build", "Kebas's version and the dialog new sessions get",
                          registry=registry)
        self.updates = Counter("kebas_updates_handled_total",
                               "Updates handled, by kind (typed text, command, button, ...)",
                               ["kind"], registry=registry)
        self.latency = Histogram(
            "kebas_update_latency_seconds", "Seconds from Kebas taking up an update (its "
            "chat's turn: after the chat's earlier updates) until it is handled: the step "
            "committed and every reply sent, Telegram's limits and flood waits included",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.replies = Counter("kebas_replies_sent_total",
                               "Messages sent to runners (a long text sent in parts: each)",
                               registry=registry)
        self.send_retries = Counter("kebas_send_retries_total",
                                    "Sends tried again after network trouble",
                                    registry=registry)
        self.flood_waits = Counter("kebas_telegram_flood_waits_total",
                                   "Times Telegram answered 429 (a flood wait)",
                                   registry=registry)
        self.flood_wait_seconds = Counter(
            "kebas_telegram_flood_wait_seconds_total",
            "Seconds Telegram's 429s asked to wait (retry_after), sending nothing meanwhile",
            registry=registry)
        self.chat_floods = Counter("kebas_chat_floods_total",
                                   "Times a chat sent faster than anyone reads and was then "
                                   "answered sparingly", registry=registry)
        self.storage_errors = Counter(
            "kebas_storage_errors_total", "Database faults met: an update that failed (the "
            "runner was asked to try again), a health check, a count for /metrics",
            registry=registry)
        self.reloads = Counter("kebas_reloads_total",
                               "Content reloads (/muatulang, SIGHUP), by whether the new "
                               "content was served", ["result"], registry=registry)
        self.webhook_refused = Counter("kebas_webhook_refused_total",
                                       "Webhook requests refused, by reason",
                                       ["reason"], registry=registry)
        self.followups = Counter(
            "kebas_followups_total", "Follow-up check-ins asked for (scheduled), sent, and "
            "polls for due ones (each worker's)", ["event"], registry=registry)
        self.followups_cancelled = Counter(
            "kebas_followups_cancelled_total", "Follow-up check-ins cancelled before they "
            "were sent, by reason", ["reason"], registry=registry)
        self.records = Counter(
            "kebas_answer_records_total", "Answered questions edited into a record of the "
            "answer: at once (Telegram's budget was spare), later (after the replies that "
            "were waiting), or given up (no spare budget in time: the old buttons stay, "
            "refused when pressed)", ["when"], registry=registry)
        self.send_waiting = Gauge(
            "kebas_send_waiting", "Requests to Telegram waiting for its budget (the most "
            "urgent goes first)", registry=registry)
        self.active = ActiveSessions()
        registry.register(self.active)
        for when in RECORDS:
            self.records.labels(when)
        for event in FOLLOWUP_EVENTS:
            self.followups.labels(event)
        for reason in FOLLOWUP_CANCELLED_BY:
            self.followups_cancelled.labels(reason)
        for kind in KINDS:  # every series from the start, at 0
            self.updates.labels(kind)
        for result in ("ok", "refused"):
            self.reloads.labels(result)
        self.serving(dialog)

    def serving(self, dialog: Dialog) -> None:
        """The dialog new sessions get (at start, and after each reload)."""
        self.build.info({"version": kebas_version(), "dialog": dialog.id,
                         "dialog_version": str(dialog.version)})

    def handled(self, update: Update, seconds: float | None) -> None:
        """An update handled, in `seconds` (None: it failed, and is not timed)."""
        self.updates.labels(update_kind(update)).inc()
        if seconds is not None:
            self.latency.observe(seconds)

    def reloaded(self, served: bool, dialog: Dialog) -> None:
        """A reload done: served (the dialog now served is `dialog`) or refused."""
        self.reloads.labels("ok" if served else "refused").inc()
        if served:
            self.serving(dialog)

    def followup_cancelled(self, reason: str, count: int = 1) -> None:
        """`count` follow-ups cancelled for `reason` (a fixed word: cancel, erased, ...)."""
        if count:
            self.followups_cancelled.labels(reason).inc(count)

    def purged(self, purged: Purged) -> None:
        """A retention purge deleted follow-ups not sent yet: cancelled by retention."""
        self.followup_cancelled("retention", purged.followups_pending)

    def webhook_refusal(self, reason: str) -> None:
        self.webhook_refused.labels(reason).inc()

    def flood_wait(self, retry_after: timedelta | float) -> None:
        self.flood_waits.inc()
        self.flood_wait_seconds.inc(retry_after.total_seconds()
                                    if isinstance(retry_after, timedelta) else retry_after)

    async def scraped(self, store: SessionStore) -> bytes:
        """The text `/metrics` answers, the sessions in progress counted afresh."""
        try:
            self.active.count = await store.count_active()
        except STORAGE_FAULTS:
            self.active.count = None
            self.storage_errors.inc()
        return generate_latest(self.registry)


class FloodWaitsCounted(BaseRateLimiter[int]):
    """PTB's rate limiter, with Telegram's flood waits counted on their way to it.

    The limiter waits a 429 out and sends again, out of Kebas's sight; each request passes
    through here, and so does each 429 it meets.
    """

    def __init__(self, limiter: BaseRateLimiter[int], metrics: BotMetrics) -> None:
        self.limiter, self.metrics = limiter, metrics

    async def initialize(self) -> None:
        await self.limiter.initialize()

    async def shutdown(self) -> None:
        await self.limiter.shutdown()

    async def process_request(
            self, callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any]
                                                    | list[dict[str, Any]]]],
            args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
            rate_limit_args: int | None) -> bool | dict[str, Any] | list[dict[str, Any]]:
        async def counted(*given: Any, **named: Any) -> bool | dict[str, Any] \
                | list[dict[str, Any]]:
            try:
                return await callback(*given, **named)
            except RetryAfter as exc:
                self.metrics.flood_wait(exc.retry_after)
                raise

        return await self.limiter.process_request(counted, args, kwargs, endpoint, data,
                                                  rate_limit_args)
