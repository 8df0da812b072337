"""What an operator's log looks like: KEBAS_LOG_LEVEL and KEBAS_LOG_FORMAT=json (issue 17).

JSON is one object a line (time, level, logger, message), for a log shipper; never the token,
and never a runner's name or typed text (the autouse fixture in conftest.py scans the output).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from support.fakebotapi import TOKEN
from support.harness import Runner
from support.process import ready, start_kebas
from support.webhook import free_port


async def a_run(fake, tmp_path, monkeypatch, **env: str) -> list[str]:
    """`kebas run` with these settings, a runner who types a word, SIGTERM: its stderr lines."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    process = await start_kebas(fake, tmp_path / "kebas.sqlite3")
    try:
        await ready(fake, 0)
        runner = Runner(fake, 515151)
        await runner.agree()
        await runner.type("kebas-rahasia-9931")
    finally:
        process.terminate()
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]
    return err.decode().splitlines()


async def test_json_logs_are_one_object_a_line_without_the_token(fake, tmp_path, monkeypatch):
    # the health server brings uvicorn's own lines, which carry terminal colours for a console
    lines = await a_run(fake, tmp_path, monkeypatch, KEBAS_LOG_FORMAT="json",
                        KEBAS_HEALTH_LISTEN=f"127.0.0.1:{free_port()}")
    records = [json.loads(line) for line in lines]
    assert records, "it logged"
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any(record["logger"].startswith("uvicorn") for record in records)
    for record in records:
        assert datetime.fromisoformat(record["time"]).utcoffset() is not None, record["time"]
        assert "\x1b[" not in json.dumps(record, ensure_ascii=False), "no terminal colours"
    assert any(record["message"].startswith("Kebas is starting") for record in records)
    assert not any(TOKEN in line or "kebas-rahasia-9931" in line for line in lines)


async def test_the_log_level_leaves_out_what_is_below_it(fake, tmp_path, monkeypatch):
    lines = await a_run(fake, tmp_path, monkeypatch, KEBAS_LOG_LEVEL="warning")
    assert not any("Kebas is starting" in line for line in lines)
    assert not any(" INFO " in line for line in lines)


async def test_a_log_setting_that_cannot_work_is_refused_with_what_to_do(fake, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("KEBAS_LOG_FORMAT", "yaml")
    process = await start_kebas(fake, tmp_path / "kebas.sqlite3")
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "KEBAS_LOG_FORMAT" in err.decode() and "Traceback" not in err.decode()
