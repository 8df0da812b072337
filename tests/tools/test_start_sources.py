"""`kebas stats` and `/statistik` show the starts from links (t.me/<bot>?start=SOURCE) by
source: over the recent days (or since --since) and of all time, sessions or none."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.core.i18n import Locale
from bot.storage import SQLiteStore, StartCount
from bot.tools.stats import link_starts, starts_in, telegram_summary

ROOT = Path(__file__).resolve().parents[2]
CONTENT = [str(ROOT / "dialogs"), str(ROOT / "locales")]
TODAY = datetime.now(UTC).date()
COUNTS = [StartCount(TODAY - timedelta(days=40), "poster-a", 5),
          StartCount(TODAY - timedelta(days=40), "flyer", 1),
          StartCount(TODAY - timedelta(days=2), "poster-a", 2),
          StartCount(TODAY, "en-radio", 3)]


@pytest.fixture
async def db(tmp_path) -> Path:
    """A database with starts from links and no session at all."""
    path = tmp_path / "kebas.sqlite3"
    update_ids = iter(range(1, 100))
    for count in COUNTS:
        noon = datetime(count.day.year, count.day.month, count.day.day, 12, tzinfo=UTC)
        async with SQLiteStore(path, clock=lambda noon=noon: noon) as store:
            for _ in range(count.starts):
                await store.count_start(next(update_ids), count.source)
    return path


def test_the_starts_are_added_up_by_source_in_a_window_and_in_all():
    assert [(count.id, count.count) for count in starts_in(COUNTS)] == [
        ("poster-a", 7), ("en-radio", 3), ("flyer", 1)]
    assert [(count.id, count.count) for count in starts_in(
        COUNTS, TODAY - timedelta(days=30))] == [("en-radio", 3), ("poster-a", 2)]
    links = link_starts(COUNTS, TODAY - timedelta(days=30))
    assert links.sources == (("poster-a", 2, 7), ("en-radio", 3, 3), ("flyer", 0, 1))


def test_kebas_stats_shows_them_with_no_sessions_yet(db, capsys):
    assert cli.main(["stats", "--db", str(db), *CONTENT]) == 0
    output = capsys.readouterr().out
    assert "no sessions yet" in output
    since = (datetime.now(UTC) - timedelta(days=30)).date()
    assert re.search(rf"source\s*┃\s*since {since.isoformat()}\s*┃\s*all time", output), output
    assert re.search(r"poster-a\s*│\s*2\s*│\s*7\s*│", output)
    assert re.search(r"flyer\s*│\s*0\s*│\s*1\s*│", output)
    assert "past 50 sources a day, a new one counts as 'other'" in " ".join(output.split())


def test_since_sets_the_window_and_the_html_report_has_the_table(db, tmp_path, capsys):
    since = TODAY - timedelta(days=1)
    report = tmp_path / "usage.html"
    assert cli.main(["stats", "--db", str(db), "--since", since.isoformat(),
                     "--html", str(report), *CONTENT]) == 0
    output = capsys.readouterr().out
    assert re.search(rf"source\s*┃\s*since {since.isoformat()}\s*┃", output)
    assert re.search(r"poster-a\s*│\s*0\s*│\s*7\s*│", output)
    page = report.read_text(encoding="utf-8")
    assert "<h2>Starts from links (t.me/&lt;bot&gt;?start=SOURCE)</h2>" in page
    assert ('<tr><td><code>en-radio</code></td><td class="n">3</td><td class="n">3</td></tr>'
            in page)


def test_an_empty_table_says_there_are_none(tmp_path, capsys):
    empty = tmp_path / "empty.sqlite3"
    assert cli.main(["migrate", "--db", str(empty), "--env-file", "/dev/null"]) == 0
    assert cli.main(["stats", "--db", str(empty), *CONTENT]) == 0
    assert "no starts from links (t.me/<bot>?start=SOURCE) yet" in capsys.readouterr().out


@pytest.mark.parametrize(("language", "said", "none"), [
    ("id", "🔗 Dari tautan: ", "🔗 Dari tautan: belum ada"),
    ("en", "🔗 From links: ", "🔗 From links: none yet"),
])
def test_statistik_lists_them_per_window_in_the_admins_language(shipped, language, said, none):
    locale: Locale = shipped.locales[language]
    message = telegram_summary([], shipped.dialog(), locale, datetime.now(UTC), COUNTS)
    lines = [line.text for line in message.lines if line.text.startswith("🔗")]
    assert lines == [said + "start=en-radio: 3; start=poster-a: 2",
                     said + "start=poster-a: 7; start=en-radio: 3; start=flyer: 1"]
    nothing = telegram_summary([], shipped.dialog(), locale, datetime.now(UTC))
    assert [line.text for line in nothing.lines if line.text.startswith("🔗")] == [none] * 2


def test_a_day_is_a_day_in_utc():
    assert starts_in([StartCount(date(2026, 3, 2), "a", 1)], date(2026, 3, 2))[0].count == 1
    assert starts_in([StartCount(date(2026, 3, 1), "a", 1)], date(2026, 3, 2)) == ()
