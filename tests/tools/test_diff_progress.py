"""`kebas diff` says how far it has got while it explores: on a terminal a live progress line
on standard error, in a pipe nothing but the report (a script reading it sees no noise)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from test_diff import content_copy, edited, lower_chest_pain

from bot.tools.diff import compare

from conftest import ROOT


def test_compare_reports_each_phase_as_it_goes_and_reaches_the_sample_count():
    seen: list[tuple[str, int, int | None]] = []
    old = edited(lambda data: None)
    new = edited(lambda data: data["red_flags"][0].update(level="soon"))
    compare(old, new, samples=120, progress=lambda *report: seen.append(report))
    phases = [phase for phase, _done, _total in seen]
    assert phases[0] == "every path" and phases[-1] == "sample"
    explored = [done for phase, done, _total in seen if phase == "every path"]
    assert explored == sorted(explored) and explored[-1] > 0
    sampled = [(done, total) for phase, done, total in seen if phase == "sample"]
    assert sampled[-1] == (120, 120)
    assert [done for done, _total in sampled] == sorted(done for done, _total in sampled)


def run_diff(old, new, terminal: bool) -> tuple[int, str, str]:
    command = [sys.executable, "-m", "bot", "diff", str(old), str(new), "--samples", "300"]
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm", "COLUMNS": "100"}
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=300)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env,
                          cwd=ROOT) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:   # the other end closed: the command has ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=300)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace")
    return code, text, text


def test_kebas_diff_on_a_terminal_shows_progress_while_it_explores(tmp_path):
    old = content_copy(tmp_path / "old")
    new = content_copy(tmp_path / "new", lower_chest_pain)
    code, screen, _ = run_diff(old, new, terminal=True)
    assert code == 1, screen
    assert "exploring answer paths" in screen and "situations" in screen
    assert "sampling causes" in screen and "300/300" in screen
    assert "LESS URGENT" in screen   # and the report as before


def test_kebas_diff_in_a_pipe_prints_the_report_and_no_progress(tmp_path):
    old = content_copy(tmp_path / "old")
    new = content_copy(tmp_path / "new", lower_chest_pain)
    code, out, err = run_diff(old, new, terminal=False)
    assert code == 1, err
    assert "LESS URGENT" in out
    assert err == ""
    for noise in ("exploring", "situations", "sampling causes", "\x1b["):
        assert noise not in out
