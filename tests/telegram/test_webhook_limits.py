"""What a webhook worker refuses, and how cheaply: issue 14's hardening, against a real worker.

Requests are written by hand on a socket where aiohttp would not send them (a body that never
ends, headers a byte at a time), so each test sees exactly what reaches uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from pathlib import Path

import psutil

from bot.channels.telegram import webhook
from bot.channels.telegram.webhook import (
    BODY_SECONDS,
    HEADER_SECONDS,
    MAX_BODY_BYTES,
    MAX_CONNECTIONS,
    MAX_JSON_DEPTH,
    SECRET_HEADER,
    Refusals,
)

from support.webhook import SECRET, post, start_update, workers

ROUTE = "/telegram"


def request_head(*fields: str, secret: str = SECRET) -> bytes:
    lines = [f"POST {ROUTE} HTTP/1.1", "Host: kebas.test", "Content-Type: application/json",
             f"{SECRET_HEADER}: {secret}", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@contextlib.asynccontextmanager
async def connection(backend: str):
    host, port = backend.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def status_of(reader: asyncio.StreamReader, timeout: float = 5) -> int | None:
    """The status of the answer, or None when the connection was closed without one (or no
    answer came within `timeout`)."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (TimeoutError, ConnectionError):
        return None
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None


async def closed_after(reader: asyncio.StreamReader, began: float, timeout: float) -> float:
    """Seconds from `began` until the worker closed the connection (whatever it said first)."""
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(reader.read(), timeout)
    return time.monotonic() - began


def rss(process: asyncio.subprocess.Process) -> int:
    return psutil.Process(process.pid).memory_info().rss


def refusal_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "kebas.webhook: refused" in line]


def nested(depth: int) -> dict:
    """A message replying to a message replying to ... `depth` deep: PTB reads each level."""
    message: dict = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}
    for _ in range(depth):
        message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                   "reply_to_message": message}
    return {"update_id": 1, "message": message}


async def test_a_body_over_a_megabyte_is_refused_without_being_read(tmp_path):
    """413 as soon as the Content-Length says too much, or once more than a megabyte has
    come without one; a 50 MB body costs the worker no memory."""
    async with workers(tmp_path) as (fake, group):
        backend = group.backends[0]
        async with connection(backend) as (reader, writer):  # 50 MB announced, 64 KB sent
            writer.write(request_head(f"Content-Length: {50 * 1024 * 1024}") + b"x" * 65536)
            await writer.drain()
            assert await status_of(reader) == 413
        async with connection(backend) as (reader, writer):  # chunked, a byte too many
            writer.write(request_head("Transfer-Encoding: chunked"))
            for _ in range(MAX_BODY_BYTES // 65536):
                writer.write(chunk(b" " * 65536))
            writer.write(chunk(b" "))  # and the body has not even ended
            await writer.drain()
            assert await status_of(reader) == 413
        before = rss(group.processes[0])
        async with connection(backend) as (reader, writer):  # 50 MB chunked, as fast as we can
            writer.write(request_head("Transfer-Encoding: chunked"))
            with contextlib.suppress(ConnectionError):
                for _ in range(50 * 16):
                    writer.write(chunk(b" " * 65536))
                    await writer.drain()
        grown = (rss(group.processes[0]) - before) / 2 ** 20
        assert grown < 20, f"the worker's memory grew {grown:.0f} MB"
        async with connection(backend) as (reader, writer):  # a real update, chunked: handled
            body = json.dumps(start_update(fake, 801)).encode()
            writer.write(request_head("Transfer-Encoding: chunked") + chunk(body) + chunk(b""))
            await writer.drain()
            assert await status_of(reader) == 200
        assert any(b["callback_data"].startswith("k:agree") for b in fake.last(801).buttons)


async def test_json_nested_deeper_than_any_update_is_a_400_not_a_crash(tmp_path):
    async with workers(tmp_path) as (fake, group):
        url = group.backends[0] + ROUTE
        deep_list: object = []
        for _ in range(600):
            deep_list = [deep_list]
        assert await post(url, nested(600), SECRET) == 400
        assert await post(url, {**start_update(fake, 802), "extra": deep_list}, SECRET) == 400
        assert await post(url, nested(MAX_JSON_DEPTH // 4), SECRET) == 200, "a deep reply is fine"
        text = (tmp_path / "worker-0.log").read_text()
        assert "RecursionError" not in text and "Traceback" not in text, text
        assert (await group.healthy(0))["status"] == "ok"


async def test_idle_and_slow_connections_are_closed_and_each_carries_one_request(tmp_path):
    """A connection that says nothing, or trickles its headers, is closed HEADER_SECONDS
    after it was made; a body that trickles gets 408 BODY_SECONDS after its headers; and
    every answer closes its connection, so none idles between requests."""
    async with workers(tmp_path) as (fake, group):
        backend = group.backends[0]

        async def idle() -> float:
            async with connection(backend) as (reader, _writer):
                return await closed_after(reader, time.monotonic(), HEADER_SECONDS + 5)

        async def trickled_headers() -> float:
            async with connection(backend) as (reader, writer):
                began = time.monotonic()
                head = request_head("Content-Length: 2")

                async def trickle() -> None:
                    for byte in head:
                        writer.write(bytes([byte]))
                        await asyncio.sleep(0.5)

                dripping = asyncio.ensure_future(trickle())
                try:
                    return await closed_after(reader, began, HEADER_SECONDS + 5)
                finally:
                    dripping.cancel()

        async def trickled_body() -> tuple[int | None, float]:
            async with connection(backend) as (reader, writer):
                writer.write(request_head("Content-Length: 100"))
                began = time.monotonic()

                async def trickle() -> None:
                    for _ in range(100):
                        writer.write(b" ")
                        await asyncio.sleep(0.5)

                dripping = asyncio.ensure_future(trickle())
                try:
                    return await status_of(reader, BODY_SECONDS + 5), time.monotonic() - began
                finally:
                    dripping.cancel()

        async def one_request_each() -> bytes:
            async with connection(backend) as (reader, writer):
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: kebas.test\r\n\r\n")
                return await asyncio.wait_for(reader.read(), 5)  # the answer, then closed

        silent, dripped, (status, slow_body), answer = await asyncio.gather(
            idle(), trickled_headers(), trickled_body(), one_request_each())
        assert HEADER_SECONDS - 1 < silent < HEADER_SECONDS + 2, silent
        assert HEADER_SECONDS - 1 < dripped < HEADER_SECONDS + 2, dripped
        assert status == 408 and BODY_SECONDS - 1 < slow_body < BODY_SECONDS + 2, slow_body
        assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in answer.lower()
        assert (await group.healthy(0))["status"] == "ok"


async def test_beyond_the_connection_limit_a_request_gets_503(tmp_path):
    async with workers(tmp_path) as (fake, group):
        backend = group.backends[0]
        async with contextlib.AsyncExitStack() as held:
            for _ in range(MAX_CONNECTIONS):  # say nothing: each counts until it times out
                await held.enter_async_context(connection(backend))
            await asyncio.sleep(0.2)
            assert await post(backend + ROUTE, start_update(fake, 803), SECRET) == 503
        await asyncio.sleep(0.2)
        assert await post(backend + ROUTE, start_update(fake, 803), SECRET) == 200


async def too_large(backend: str) -> int | None:
    """A body announced as 2 MB (none of it sent): what the worker answers."""
    async with connection(backend) as (reader, writer):
        writer.write(request_head(f"Content-Length: {2 * MAX_BODY_BYTES}"))
        await writer.drain()
        return await status_of(reader)


async def test_refused_requests_reach_the_log_as_one_line_a_minute(tmp_path):
    """300 refused requests of four kinds: one line at once, the rest summed up (here when
    the worker stops, before its minute is over), not one line each."""
    async with workers(tmp_path) as (fake, group):
        backend = group.backends[0]
        url = backend + ROUTE
        kinds = [lambda: post(url, {"no": "update"}, SECRET),
                 lambda: post(url, {}, "wrong-secret-token-of-the-same-kind"),
                 lambda: post(url, nested(100), SECRET),
                 lambda: too_large(backend)]
        statuses = [await kinds[number % 4]() for number in range(300)]
        assert sorted(set(statuses)) == [400, 403, 413], set(statuses)
        assert len(refusal_lines(tmp_path / "worker-0.log")) == 1
        await group.stop()
    lines = refusal_lines(tmp_path / "worker-0.log")
    assert len(lines) == 2, lines
    counted = [re.search(r"refused (\d+) webhook requests? in the last minute: (.*)", line)
               for line in lines]
    assert sum(int(found.group(1)) for found in counted) == 300, lines
    assert all(kind in lines[1] for kind in ("wrong secret", "too large", "nested too deeply",
                                             "not an update")), lines


async def test_refusals_are_summed_up_once_a_minute(caplog):
    caplog.set_level(logging.WARNING, logger="kebas.webhook")
    refusals = Refusals(every=0.3)
    for number in range(3000):
        refusals.refused("wrong secret" if number % 3 else "too large")
    told = [record.getMessage() for record in caplog.records]
    assert told == ["refused 1 webhook request in the last minute: 1 too large"]
    await asyncio.sleep(0.5)
    told = [record.getMessage() for record in caplog.records]
    assert told[1:] == ["refused 2999 webhook requests in the last minute: "
                        "2000 wrong secret, 999 too large"]
    await asyncio.sleep(0.4)
    refusals.refused("too slow")
    assert len(caplog.records) == 3, "after a quiet minute, the next refusal is told at once"
    refusals.report()
    assert len(caplog.records) == 3, "nothing more to tell"


def test_nesting_is_measured_without_recursion():
    deep: object = {}
    for _ in range(100_000):
        deep = {"a": [deep]}
    assert webhook.nesting(deep) > MAX_JSON_DEPTH
    assert webhook.nesting({"update_id": 1, "message": {"chat": {"id": 1}}}) == 3
    assert webhook.nesting(7) == 0



async def test_an_update_ptb_cannot_read_is_acknowledged_once_not_posted_again(tmp_path):
    """As in polling: skipped, logged once by id and kind, and answered 200, so Telegram does
    not post it again and again (it answered 400 before; found by an outside review)."""
    from support.fakebotapi import UNREADABLE_POLL
    async with workers(tmp_path) as (fake, group):
        fake.deliver_to(group.backends)
        poison = fake.send(703, UNREADABLE_POLL)
        await fake.delivered()
        statuses = [status for update, _backend, status in fake.posts if update == poison]
        assert statuses == [200]
        await group.stop()
    log = (tmp_path / "worker-0.log").read_text()
    assert log.count(f"update {poison} (message) is skipped") == 1
    assert "Kaki kiri saya kebas" not in log


async def test_upgrade_requests_are_counted_not_logged_one_line_each(tmp_path):
    async with workers(tmp_path) as (fake, group):
        backend = group.backends[0]
        for _ in range(40):
            async with connection(backend) as (reader, writer):
                writer.write(f"POST {ROUTE} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                             f"Upgrade: h2c\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
                await reader.read()
        await group.stop()
    log = (tmp_path / "worker-0.log").read_text()
    assert "Unsupported upgrade request" not in log and "WebSocket" not in log
    assert len(refusal_lines(tmp_path / "worker-0.log")) <= 2
