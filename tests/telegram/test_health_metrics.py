"""/healthz and /metrics: what an operator's monitoring sees of a running bot, fetched over
HTTP as Prometheus does and read with prometheus_client's own parser. Long polling serves them
on KEBAS_HEALTH_LISTEN (a real `kebas run`, and the same Application in-process); a webhook
worker beside its Telegram route."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
from pathlib import Path

import aiohttp
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import scannable
from support.fakebotapi import HANDED_OUT, TOKEN
from support.harness import PAD_STORY, Runner, rows, running_bot
from support.process import ready, start_kebas
from support.webhook import free_port, post, start_update, workers

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 918273600
# long chat ids, so that finding one in the scraped text cannot be chance
CHATS = (918273641, 918273642, 918273643)


class Scrape:
    """One fetch of /metrics: each sample by its name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = {(sample.name, frozenset(sample.labels.items())): sample.value
                        for family in text_string_to_metric_families(text)
                        for sample in family.samples}

    def __call__(self, name: str, **labels: str) -> float:
        """A sample's value; a KeyError names a sample the bot does not have."""
        return self.samples[(name, frozenset(labels.items()))]

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _labels in self.samples)

    def updates(self) -> float:
        return sum(value for (name, _labels), value in self.samples.items()
                   if name == "kebas_updates_handled_total")


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def scrape(base: str) -> Scrape:
    status, kind, text = await fetch(base + "/metrics")
    assert status == 200 and kind.startswith("text/plain; version="), (status, kind)
    return Scrape(text)


async def health(base: str) -> tuple[int, dict]:
    status, _kind, text = await fetch(base + "/healthz")
    return status, json.loads(text)


def shows_nobody(scraped: Scrape, *chats: int) -> None:
    """No chat id, name, typed text or token in what the monitoring reads."""
    assert not [chat for chat in chats if str(chat) in scraped.text]
    words = [word for word in HANDED_OUT if scannable(word)]  # "62" could be any number's
    assert words and not [word for word in words if word in scraped.text]
    assert TOKEN not in scraped.text and TOKEN.split(":")[1] not in scraped.text


def listening(pid: int) -> set[int]:
    """The TCP ports a process listens on."""
    return {connection.laddr.port for connection in psutil.Process(pid).net_connections("tcp")
            if connection.status == psutil.CONN_LISTEN}


# --- a real `kebas run` ---------------------------------------------------------------------


async def test_kebas_run_with_KEBAS_HEALTH_LISTEN_serves_health_and_metrics_of_its_runners(
        fake, shipped, tmp_path, monkeypatch):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("KEBAS_HEALTH_LISTEN", f"127.0.0.1:{port}")
    process = await start_kebas(fake, tmp_path / "kebas.sqlite3", log=tmp_path / "bot.log")
    try:
        await ready(fake, 0)
        assert listening(process.pid) == {port}, "the health port and nothing else"
        dialog = shipped.dialog()
        assert await health(base) == (200, {"status": "ok",
                                            "dialog": f"{dialog.id} v{dialog.version}"})
        before = await scrape(base)
        assert before.updates() == 0 and before("kebas_sessions_active") == 0
        assert before("kebas_build_info", dialog=dialog.id, dialog_version=str(dialog.version),
                      version="0.1.0") == 1

        runner = Runner(fake, CHATS[0])
        await runner.agree()  # /start, then the consent button
        started = await scrape(base)
        assert started("kebas_updates_handled_total", kind="command") == 1
        assert started("kebas_updates_handled_total", kind="button") == 1
        assert started("kebas_replies_sent_total") == len(runner.sent)
        assert started("kebas_update_latency_seconds_count") == 2
        assert started("kebas_sessions_active") == 1, "the runner is mid-session"

        await runner.choose_many("none")  # a tick, then Done
        answered = await scrape(base)
        assert answered("kebas_updates_handled_total", kind="button") == 3
        assert answered("kebas_update_latency_seconds_count") == 4
        assert answered("kebas_replies_sent_total") == len(runner.sent)

        await runner.type("/batal", expect="Tanya-jawab dihentikan.")
        cancelled = await scrape(base)
        assert cancelled("kebas_sessions_active") == 0, "a cancelled session is not in progress"
        assert cancelled("kebas_updates_handled_total", kind="command") == 2
        shows_nobody(cancelled, CHATS[0])
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_without_KEBAS_HEALTH_LISTEN_kebas_run_opens_no_port(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("KEBAS_HEALTH_LISTEN", raising=False)
    process = await start_kebas(fake, tmp_path / "kebas.sqlite3", log=tmp_path / "bot.log")
    try:
        await ready(fake, 0)
        await Runner(fake, CHATS[0]).agree()
        assert listening(process.pid) == set()
    finally:
        process.terminate()
        assert await process.wait() == 0


@pytest.mark.parametrize("value, said", [
    ("9100", b"KEBAS_HEALTH_LISTEN must be HOST:PORT"),
    ("127.0.0.1:70000", b"KEBAS_HEALTH_LISTEN must be HOST:PORT"),
    ("taken", b"KEBAS_HEALTH_LISTEN: cannot listen on 127.0.0.1:"),
], ids=["no host", "no such port", "port taken"])
async def test_an_impossible_KEBAS_HEALTH_LISTEN_is_refused_at_start_with_exit_2(
        fake, tmp_path, monkeypatch, value, said):
    holder = socket.create_server(("127.0.0.1", 0))  # something else listens here
    taken = holder.getsockname()[1]
    monkeypatch.setenv("KEBAS_HEALTH_LISTEN",
                       f"127.0.0.1:{taken}" if value == "taken" else value)
    try:
        process = await start_kebas(fake, tmp_path / "kebas.sqlite3")
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        holder.close()
    assert process.returncode == 2
    told = [line for line in err.splitlines() if b"KEBAS_HEALTH_LISTEN" in line]
    assert len(told) == 1 and told[0].startswith(b"kebas: ") and said in told[0], err
    assert b"Traceback" not in err
    if value != "taken":
        assert fake.calls == [], "refused before contacting Telegram"


# --- the same Application in-process -----------------------------------------------------


@pytest.fixture
async def served(fake, shipped, tmp_path):
    """The bot with its health port; yields the running Application and the port's URL."""
    port = free_port()
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3",
                           kebas_health_listen=f"127.0.0.1:{port}", kebas_admin_ids=[ADMIN],
                           kebas_dialogs=ROOT / "dialogs",
                           kebas_locales=ROOT / "locales") as app:
        yield app, f"http://127.0.0.1:{port}"


async def test_active_sessions_count_runners_mid_session_until_they_finish_or_cancel(
        fake, served, tmp_path):
    _app, base = served
    finishing, cancelling, idle = (Runner(fake, chat) for chat in CHATS)
    await finishing.agree()
    await cancelling.agree()
    await idle.type("/bantuan", expect="/kembali")  # no session: help only
    assert (await scrape(base))("kebas_sessions_active") == 2
    await cancelling.type("/batal", expect="Tanya-jawab dihentikan.")
    assert (await scrape(base))("kebas_sessions_active") == 1
    for answer in PAD_STORY:
        await finishing.answer(answer)
    assert rows(tmp_path / "kebas.sqlite3", "SELECT status FROM sessions WHERE chat_key = ?",
                f"tg:{CHATS[0]}") == [("finished",)]
    scraped = await scrape(base)
    assert scraped("kebas_sessions_active") == 0, "a finished session is not in progress"
    assert scraped("kebas_update_latency_seconds_count") == scraped.updates()
    shows_nobody(scraped, *CHATS)


async def test_a_flood_wait_from_telegram_shows_in_the_429_counters(fake, served):
    _app, base = served
    runner = Runner(fake, CHATS[0])
    await runner.agree()
    before = await scrape(base)
    assert before("kebas_telegram_flood_waits_total") == 0
    fake.fail_next["sendMessage"] = [(429, "Too Many Requests: retry after 1",
                                      {"retry_after": 1})]
    await runner.choose_many("none")
    after = await scrape(base)
    assert after("kebas_telegram_flood_waits_total") == 1
    assert after("kebas_telegram_flood_wait_seconds_total") == 1.0
    assert after("kebas_send_retries_total") == 0, "a flood wait is not a send retry"
    assert runner.node() == "a3_saddle", "the reply went out after the wait"


async def test_network_trouble_while_sending_shows_as_send_retries(fake, served):
    _app, base = served
    runner = Runner(fake, CHATS[0])
    await runner.agree()
    fake.fail_next["sendMessage"] = [(502, "Bad Gateway", None)]
    await runner.choose_many("none")
    scraped = await scrape(base)
    assert scraped("kebas_send_retries_total") == 1
    assert runner.node() == "a3_saddle"


async def test_reloads_by_an_admin_are_counted_as_served_or_refused(fake, served):
    app, base = served
    admin = Runner(fake, ADMIN)
    await admin.agree()
    await admin.type("/muatulang", expect="sudah dimuat")
    # the content is edited into a broken dialog (tests/broken)
    app.bot_data["kebas"].reloads.content_paths = [
        ROOT / "tests/broken/unknown_transition/dialogs", ROOT / "docs/example/locales"]
    await admin.type("/muatulang", expect="tidak dimuat ulang")
    scraped = await scrape(base)
    assert scraped("kebas_reloads_total", result="ok") == 1
    assert scraped("kebas_reloads_total", result="refused") == 1


async def test_a_locked_database_shows_in_storage_errors(fake, served, tmp_path):
    app, base = served
    await app.bot_data["kebas"].store.db.execute("PRAGMA busy_timeout = 300")
    runner = Runner(fake, CHATS[0])
    await runner.agree()
    await runner.choose_many("none")
    assert (await scrape(base))("kebas_storage_errors_total") == 0
    other = sqlite3.connect(tmp_path / "kebas.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        await runner.tap(runner.question(), runner.data_for("no"))
        await fake.wait_for(lambda: "Maaf, ada gangguan" in runner.sent[-1].text)
        other.execute("COMMIT")
    finally:
        other.close()
    # two writes failed: keeping the tap in the inbox, then its step
    assert (await scrape(base))("kebas_storage_errors_total") == 2


def damaged_store(_original):
    """A read as SQLite fails it on a damaged file (with the result code naming the fault)."""
    async def ping(*_args, **_kwargs):
        malformed = sqlite3.DatabaseError("database disk image is malformed")
        malformed.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
        malformed.sqlite_errorname = "SQLITE_CORRUPT"
        raise malformed
    return ping


async def test_healthz_is_503_with_the_reason_while_the_database_fails_then_200(
        fake, served, shipped):
    app, base = served
    dialog = shipped.dialog()
    assert await health(base) == (200, {"status": "ok",
                                        "dialog": f"{dialog.id} v{dialog.version}"})
    store = app.bot_data["kebas"].store
    original = store.ping
    store.ping = damaged_store(original)
    try:
        status, body = await health(base)
        assert status == 503 and body["status"] == "unavailable"
        assert "is damaged" in body["problem"] and "restore the last backup" in body["problem"]
        assert (await scrape(base))("kebas_storage_errors_total") == 1
    finally:
        store.ping = original
    assert (await health(base))[0] == 200


async def test_the_active_sessions_gauge_is_left_out_while_the_database_cannot_count(
        fake, served):
    app, base = served
    await Runner(fake, CHATS[0]).agree()
    store = app.bot_data["kebas"].store
    original = store.count_active
    store.count_active = damaged_store(original)
    try:
        scraped = await scrape(base)
    finally:
        store.count_active = original
    assert not scraped.has("kebas_sessions_active"), "no number rather than a stale one"
    assert scraped("kebas_storage_errors_total") == 1
    assert scraped("kebas_updates_handled_total", kind="button") == 1, "the rest is there"
    assert (await scrape(base))("kebas_sessions_active") == 1


async def test_two_bots_in_one_process_count_each_their_own(fake, shipped, served, tmp_path):
    _app, base = served
    await Runner(fake, CHATS[0]).agree()
    port = free_port()
    async with running_bot(fake, shipped, tmp_path / "other.sqlite3",
                           kebas_health_listen=f"127.0.0.1:{port}"):
        other = await scrape(f"http://127.0.0.1:{port}")
        assert other.updates() == 0 and other("kebas_sessions_active") == 0
    assert (await scrape(base)).updates() == 2


# --- a webhook worker -------------------------------------------------------------------------


async def test_a_webhook_worker_serves_metrics_beside_its_telegram_route(tmp_path, backend):
    """On SQLite and on PostgreSQL, whose database counts the sessions in progress."""
    async with workers(tmp_path, db=backend.target) as (fake, group):
        base = group.backends[0]
        assert await post(base + "/telegram", start_update(fake, CHATS[1]),
                          "wrong-secret-token-of-the-same-kind") == 403
        fake.deliver_to(group.backends)
        runner = Runner(fake, CHATS[0])
        await runner.agree()
        scraped = await scrape(base)
        assert scraped("kebas_updates_handled_total", kind="command") == 1
        assert scraped("kebas_updates_handled_total", kind="button") == 1
        assert scraped("kebas_update_latency_seconds_count") == 2
        assert scraped("kebas_replies_sent_total") == len(runner.sent)
        assert scraped("kebas_sessions_active") == 1
        assert scraped("kebas_webhook_refused_total", reason="wrong secret") == 1
        shows_nobody(scraped, *CHATS)
        assert (await health(base))[0] == 200


async def test_an_update_the_inbox_cannot_keep_shows_in_storage_errors(fake, served):
    """Before a step runs, its update is kept in the inbox; that write failing is counted too
    (the update is handled all the same)."""
    app, base = served
    runner = Runner(fake, CHATS[0])
    await runner.agree()
    store = app.bot_data["kebas"].store
    original = store.inbox_add
    store.inbox_add = damaged_store(original)
    try:
        await runner.type("/bantuan", expect="")
        await fake.settled()
    finally:
        store.inbox_add = original
    assert (await scrape(base))("kebas_storage_errors_total") == 1
