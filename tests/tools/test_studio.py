"""`kebas studio` without a browser: what it refuses, what it writes, and how its chat and panels
follow the content (the browser test walks the page: test_studio_browser.py)."""

from __future__ import annotations

import html
import shutil
import subprocess
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

with warnings.catch_warnings():  # Starlette 1.x would rather have httpx2; httpx still works
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

from bot.cli.main import main
from bot.content.loader import load_bundle
from bot.content.scenarios import load_scenarios, run_scenarios
from bot.core import engine
from bot.core.inputs import answer_input
from bot.core.render import Line, Message
from bot.studio import chat, scenario_file
from bot.studio.app import TOKEN_HEADER, render, studio_app
from bot.studio.workbench import SIGNED_OFF, Changes, Workbench

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token"
HERE = "http://127.0.0.1:8765"


@pytest.fixture
def content(tmp_path: Path) -> list[Path]:
    for name in ("dialogs", "locales"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return [tmp_path / "dialogs", tmp_path / "locales"]


def loaded(bench: Workbench, client: TestClient) -> dict:
    """The panels once the first reload finished (the comparison may still run)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        panels = client.get("/api/panels").json()
        if bench.panels.suite is not None or panels["errors"]:
            return client.get("/api/panels").json()
        time.sleep(0.05)
    raise AssertionError("the studio did not load the content")


# --- what it refuses ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org", "::"])
def test_the_studio_serves_this_computer_only(host, capsys):
    assert main(["studio", "--host", host, "--port", "0"]) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"kebas: --host {host}: the studio serves this computer only")
    assert said.count("\n") == 1


def test_a_port_in_use_is_said_in_one_line(capsys):
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        assert main(["studio", "--port", str(taken.getsockname()[1])]) == 2
    finally:
        taken.close()
    assert "pick another with --port" in capsys.readouterr().err


def test_requests_under_another_name_and_posts_without_the_pages_token_are_refused(content):
    bench = Workbench(content)
    app = studio_app(bench, token=TOKEN, watch=False)
    with TestClient(app, base_url="http://attacker.example:8765") as elsewhere:
        assert elsewhere.get("/").status_code == 400  # DNS rebinding: not our name
    with TestClient(app, base_url=HERE) as client:
        loaded(bench, client)
        page = client.get("/").text
        assert TOKEN in page
        started = client.post("/api/chat", json={"lang": "id"})
        assert started.status_code == 403
        assert "did not come from the studio's page" in started.json()["error"]
        state = client.post("/api/chat", json={"lang": "id"},
                            headers={TOKEN_HEADER: TOKEN}).json()["state"]
        forged = client.post("/api/scenario", json={"state": state, "name": "x"},
                             headers={TOKEN_HEADER: "guessed"})
        assert forged.status_code == 403
    assert not list((content[0] / "scenarios").glob("studio-*"))


# --- the scenario it writes --------------------------------------------------------------------


def finished_chat(content: list[Path]):
    """A chat that ticked chest pain and pressed Selesai: the emergency ending."""
    bundle = load_bundle(content)
    dialog, locale = bundle.dialog(), bundle.locales["id"]
    reply = chat.start(dialog, locale)
    question = reply.bubbles[-1]
    chest = next(key["data"] for row in question.rows for key in row
                 if key["label"].startswith("Keluhan dada"))
    reply = chat.move(dialog, locale, reply.state, press=chest)
    assert reply.keyboard is not None and not reply.bubbles  # the tick, on the same message
    assert any(key["label"].startswith("✓ Keluhan dada") for row in reply.keyboard for key in row)
    done = reply.keyboard[-1][0]["data"]
    reply = chat.move(dialog, locale, reply.state, press=done)
    assert reply.finished
    return bundle, dialog, locale, reply


def test_a_saved_scenario_passes_and_never_overwrites_a_file(content):
    bundle, dialog, locale, reply = finished_chat(content)
    folder = content[0] / "scenarios"
    name = "Nyeri dada saat lari ../../../etc/passwd"
    first = scenario_file.save(bundle, folder, dialog, locale, reply.state, name)
    second = scenario_file.save(bundle, folder, dialog, locale, reply.state, name)
    assert first.parent == second.parent == folder
    assert first.name == "studio-nyeri-dada-saat-lari-etc-passwd.yaml"
    assert second.name == "studio-nyeri-dada-saat-lari-etc-passwd-2.yaml"
    scenarios, problems = load_scenarios([first])
    assert problems == []
    assert scenarios[0].scenario.name == name
    assert scenarios[0].scenario.expect.triage.value == "emergency"
    assert scenarios[0].scenario.answers == {"a12_alarm": ["chest"]}
    assert all(run.passed for run in run_scenarios(load_bundle(content), scenarios))


@pytest.mark.parametrize(("name", "said"), [("   ", "give the scenario a name"),
                                            ("a" * 201, "longer than 200"),
                                            ("two\nlines\x00", "control character")])
def test_a_name_that_cannot_be_a_scenario_is_refused(content, name, said):
    bundle, dialog, locale, reply = finished_chat(content)
    with pytest.raises(scenario_file.CannotSave, match=said):
        scenario_file.save(bundle, content[0] / "scenarios", dialog, locale, reply.state, name)


def test_an_unfinished_chat_cannot_be_saved(content):
    bundle = load_bundle(content)
    reply = chat.start(bundle.dialog(), bundle.locales["id"])
    with pytest.raises(scenario_file.CannotSave, match="not reached a result"):
        scenario_file.save(bundle, content[0] / "scenarios", bundle.dialog(),
                           bundle.locales["id"], reply.state, "half way")


# --- the chat ----------------------------------------------------------------------------------


def test_back_and_restart_and_a_broken_state(content):
    bundle, dialog, locale, reply = finished_chat(content)
    back = chat.move(dialog, locale, reply.state, back=True)
    assert back.state["answers"] == [] and not back.finished
    assert "Baik, kita kembali ke pertanyaan sebelumnya." in back.bubbles[0].html
    again = chat.move(dialog, locale, reply.state, restart=True)
    assert again.bubbles[0].html == "Baik, kita mulai lagi dari awal."
    with pytest.raises(chat.BadMove, match="press Restart"):
        chat.move(dialog, locale, {"node": 1}, back=True)


def test_a_long_message_is_split_as_a_phone_receives_it():
    bubbles = chat.message_bubbles(Message((Line("x" * 3000), Line("y" * 3000, strong=True))))
    assert [bubble.html[:3] for bubble in bubbles] == ["xxx", "<b>"]


def test_why_this_advice_and_the_summary_under_a_result(content):
    bundle, dialog, locale, reply = finished_chat(content)
    why, summary = (key["data"] for row in reply.bubbles[-1].rows for key in row)
    assert "Mengapa saran ini?" in chat.move(dialog, locale, reply.state, press=why).bubbles[0].html
    made = chat.move(dialog, locale, reply.state, press=summary).bubbles
    assert "Keluhan dada" in made[0].html and "<b>" in made[0].html  # as Telegram sends it
    assert made[-1].html.startswith("📄 <b>ringkasan-kebas-")  # then the same as a PDF


# --- the panels --------------------------------------------------------------------------------


def test_yaml_that_does_not_parse_shows_where_instead_of_the_panels(content):
    dialog_file = content[0] / "kaki_kebas.yaml"
    good = dialog_file.read_text(encoding="utf-8")
    dialog_file.write_text(good.replace("  - id: a12_alarm\n", "  - id: a12_alarm\n   bad: [\n"),
                           encoding="utf-8")
    bench = Workbench(content)
    bench.reload()
    page = render("panels.html.j2", panels=bench.panels)
    assert bench.panels.errors and bench.bundle is None
    assert "kaki_kebas.yaml:" in page and 'class="error"' in page
    assert 'id="proof"' not in page and 'id="scenarios"' not in page
    assert "come back at the next good save" in page

    dialog_file.write_text(good, encoding="utf-8")
    bench.saw_change()
    bench.reload()
    page = render("panels.html.j2", panels=bench.panels)
    assert not bench.panels.errors and bench.bundle is not None
    assert "safety proofs a-e hold for kaki_kebas" in page
    assert "0 failed" in page


def test_the_signed_off_version_when_nothing_was_signed_off(content):
    bench = Workbench(content, baseline=SIGNED_OFF)
    bench.reload()
    changes = bench.panels.changes
    assert changes is not None and changes.problem is not None
    assert "nothing was signed off" in changes.problem


def sciatica(content: list[Path], language: str, until: str | None = None):
    """The dialog, the locale, and the engine's step after brief_rules.yaml's first scenario
    (first-time sciatica, self care) up to the question `until` (None: to its result)."""
    bundle = load_bundle(content)
    dialog = bundle.dialog()
    scenarios, _ = load_scenarios([content[0] / "scenarios" / "brief_rules.yaml"])
    answers = scenarios[0].scenario.answers
    step = engine.start(dialog)
    while step.prompt is not None and step.prompt.node_id != until:
        node = dialog.node_by_id[step.prompt.node_id]
        step = engine.step(dialog, step.state, answer_input(node, answers[node.id]))
    return dialog, bundle.locales[language], step


def test_a_result_the_dialog_follows_up_offers_to_ask_again_as_the_bot_does(content):
    dialog, locale, step = sciatica(content, "id")
    assert step.outcome is not None and step.outcome.level.value == "self_care"
    keys = [key for row in chat.shown(step, locale, dialog)[-1].rows for key in row]
    assert [key["label"] for key in keys] == ["Mengapa saran ini?", "Ringkasan untuk dokter",
                                              "Tanya saya lagi dalam 3 hari?"]
    assert len(chat.shown(step, locale)[-1].rows) < len(chat.shown(step, locale, dialog)[-1].rows)
    asked = chat.move(dialog, locale, step.state, press=keys[-1]["data"], followed_up=True)
    assert asked.bubbles[0].html.startswith("Baik. Saya akan bertanya lagi tentang keluhan Anda")


def test_a_typed_number_answers_the_question_and_is_recorded_under_it(content):
    dialog, locale, step = sciatica(content, "en", until="e1_age")
    assert chat.shown(step, locale)[-1].rows == []  # a number is typed, not tapped
    wrong = chat.move(dialog, locale, step.state, text="two hundred")
    assert wrong.state["answers"] == step.state["answers"] and wrong.answered is None
    typed = chat.move(dialog, locale, step.state, text="36")
    assert typed.state["answers"][-1] == {"node": "e1_age", "value": 36}
    assert typed.answered is not None and typed.answered.endswith("\n\n✅ 36 years")


def test_a_chat_goes_on_with_the_content_saved_meanwhile(content):
    bundle, dialog, locale, reply = finished_chat(content)
    dialog_file = content[0] / "kaki_kebas.yaml"
    dialog_file.write_text(dialog_file.read_text(encoding="utf-8").replace(
        "\nversion: 2\n", "\nversion: 3\n"), encoding="utf-8")
    edited = load_bundle(content).dialog()
    assert edited.content_hash != dialog.content_hash
    went_on = chat.move(edited, locale, reply.state, back=True)
    assert went_on.bubbles[0].html == locale.text("info.resumed")
    assert went_on.state["version"] == 3 and went_on.state["answers"] == []


class ExampleRepo:
    """docs/example's content committed in a git repository of its own, the working folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for name in ("dialogs", "locales"):
            shutil.copytree(ROOT / "docs" / "example" / name, folder / name)
        self.git("init", "-q")
        self.commit("the example")

    @property
    def paths(self) -> list[Path]:
        return [self.folder / "dialogs", self.folder / "locales"]

    def git(self, *words: str) -> None:
        subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *words],
                       cwd=self.folder, check=True, capture_output=True)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def lower_too_young(self) -> None:
        """The too-young ending from "soon" to "self care": less urgent advice."""
        dialog_file = self.folder / "dialogs" / "contoh.yaml"
        dialog_file.write_text(dialog_file.read_text(encoding="utf-8").replace(
            "text: out.too_young\n    level: soon", "text: out.too_young\n    level: self_care"),
            encoding="utf-8")


@pytest.fixture
def example(tmp_path, monkeypatch) -> ExampleRepo:
    monkeypatch.chdir(tmp_path)  # `kebas diff HEAD` looks the revision up where it runs
    return ExampleRepo(tmp_path)


def test_what_changed_since_the_last_commit_marks_less_urgent_advice(example):
    bench = Workbench(example.paths)
    bench.reload()
    unchanged = bench.panels.changes
    assert unchanged is not None and unchanged.html is not None and not unchanged.changed

    example.lower_too_young()
    bench.saw_change()
    bench.reload()
    changes = bench.panels.changes
    assert changes is not None and changes.changed and changes.lowered
    assert changes.against == "the last commit (git HEAD)"
    assert "▼ LESS URGENT: PERIKSA DALAM BEBERAPA HARI → PERAWATAN MANDIRI" in changes.html
    assert "age: Berapa usia Anda? → 12" in changes.html  # an example path, as kebas diff
    page = render("panels.html.j2", panels=bench.panels)
    assert 'class="lowered"' in page


def test_what_changed_since_the_signed_off_version(example, capsys):
    assert main(["signoff", "--reviewer", "dr. Siti Rahma, Sp.N", "--registration", "STR-1",
                 "--date", "2026-01-05", "dialogs", "locales"]) == 0, capsys.readouterr()
    example.commit("signed off")
    example.lower_too_young()
    example.commit("changed after the sign-off, and committed: HEAD has it too")

    bench = Workbench(example.paths, baseline=SIGNED_OFF)
    bench.reload()
    changes = bench.panels.changes
    assert changes is not None and changes.lowered
    assert changes.against.startswith("the version dr. Siti Rahma, Sp.N signed off on 2026-01-05")
    bench.set_baseline("HEAD")
    bench.saw_change()
    bench.reload()
    assert bench.panels.changes is not None and not bench.panels.changes.changed


# --- fixes after the outside review ------------------------------------------------------------


@pytest.mark.parametrize("broken", [
    lambda text: text.replace('"112 atau 119"', '"112 atau 119').encode(),  # no closing quote
    lambda text: b"\xff\xfe" + text.encode(),                       # not UTF-8
    lambda text: text.replace("\n  emergency", "\n\temergency").encode(),  # a tab indent
    lambda text: b"",                                               # empty
], ids=["quote", "utf8", "tab", "empty"])
def test_an_indonesian_locale_that_does_not_load_is_said_once_not_as_missing(content, broken,
                                                                           capsys):
    locale_file = content[1] / "id.yaml"
    locale_file.write_bytes(broken(locale_file.read_text(encoding="utf-8")))
    bench = Workbench(content)
    bench.reload()
    said = [problem.message for problem in bench.panels.problems]
    assert bench.panels.errors
    assert not any("there is no locales/id.yaml" in message for message in said), said
    assert main(["check", *map(str, content)]) == 1
    out = capsys.readouterr()
    assert "there is no locales/id.yaml" not in out.out + out.err
    assert "id.yaml:" in out.out + out.err


def test_what_changed_is_compared_in_the_repository_holding_the_watched_folders(tmp_path,
                                                                                monkeypatch):
    started_in = ExampleRepo(tmp_path / "a")  # another repository, where the studio started
    started_in.lower_too_young()
    started_in.commit("its last commit is what the watched folders now say")
    monkeypatch.chdir(started_in.folder)
    watched = ExampleRepo(tmp_path / "b")
    watched.lower_too_young()
    bench = Workbench(watched.paths)
    bench.reload()
    changes = bench.panels.changes
    assert changes is not None and changes.problem is None
    assert changes.changed and changes.lowered


def test_folders_outside_any_repository_say_there_is_no_last_commit(content, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    bench = Workbench(content)
    bench.reload()
    changes = bench.panels.changes
    assert changes is not None and changes.problem is not None
    assert "not in a git repository, so there is no last commit to compare with" \
        in changes.problem
    assert "'HEAD'" not in changes.problem


@pytest.mark.parametrize("typed", ["/ulang", "/mulai", "/restart", "/start"])
def test_the_commands_the_chat_tells_the_runner_to_type_start_again(content, typed):
    bundle, dialog, locale, reply = finished_chat(content)
    for state in (chat.start(dialog, locale).state, reply.state):  # at a question, after a result
        again = chat.move(dialog, locale, state, text=typed)
        assert again.bubbles[0].html == "Baik, kita mulai lagi dari awal."
        assert again.state["answers"] == [] and not again.finished


def test_back_and_help_typed_as_commands(content):
    bundle, dialog, locale, reply = finished_chat(content)
    back = chat.move(dialog, locale, reply.state, text="/kembali")
    assert "Baik, kita kembali ke pertanyaan sebelumnya." in back.bubbles[0].html
    for typed in ("/bantuan", "/help"):
        helped = chat.move(dialog, locale, back.state, text=typed)
        assert helped.bubbles[0].html == chat.escape(locale.text("tg.help"))
        assert helped.state == back.state
    other = chat.move(dialog, locale, back.state, text="/hapus")
    assert other.toast is not None and "/hapus" in other.toast and other.state == back.state


def test_the_folders_in_the_wrong_order_are_refused_in_one_line(content, capsys, monkeypatch):
    monkeypatch.setattr("bot.cli.studio.asyncio.run", lambda serving: serving.close())
    assert main(["studio", "--port", "0", str(content[1]), str(content[0])]) == 2
    said = capsys.readouterr().err
    assert said.startswith("kebas: give the dialogs folder first, then the locales folder")
    assert said.count("\n") == 1


def test_content_without_scenarios_says_there_are_none_yet(content):
    shutil.rmtree(content[0] / "scenarios")
    bench = Workbench(content)
    bench.reload()
    page = render("panels.html.j2", panels=bench.panels)
    assert "cannot read" not in page
    assert "No scenarios yet" in page


def test_one_broken_scenario_file_leaves_the_others_results_showing(content):
    (content[0] / "scenarios" / "zz-broken.yaml").write_text("- name: half\n  answers: [\n",
                                                             encoding="utf-8")
    bench = Workbench(content)
    bench.reload()
    page = render("panels.html.j2", panels=bench.panels)
    assert "zz-broken.yaml:" in page
    assert "0 failed" in page and "coverage of kaki_kebas" in page
    assert bench.panels.status[0] != "up to date" and bench.panels.status[1] == "bad"


def test_the_header_says_comparing_and_less_urgent_advice_and_the_proof_says_what_it_proves(
        example):
    example.lower_too_young()
    bench = Workbench(example.paths)
    bench.reload()
    assert bench.panels.status == ("less urgent advice than the last commit (git HEAD)", "bad")
    comparing = replace(bench.panels, changes=Changes(bench.panels.changes.against))
    assert comparing.status == ("comparing what changed…", "busy")
    page = render("panels.html.j2", panels=bench.panels)
    assert page.index('id="lowered-top"') < page.index('id="problems"')  # at the top
    assert ("The proofs check the rules a–e, not whether a level of urgency is clinically "
            "right.") in page
    client = TestClient(studio_app(bench, token=TOKEN, watch=False), base_url=HERE)
    answer = client.get("/api/panels").json()
    assert answer["status"] == "less urgent advice than the last commit (git HEAD)"
    assert answer["tone"] == "bad"


def test_a_body_too_large_or_too_deep_is_refused_in_plain_words(content):
    bench = Workbench(content)
    client = TestClient(studio_app(bench, token=TOKEN, watch=False), base_url=HERE,
                        raise_server_exceptions=False)
    deep = client.post("/api/chat", content=b"[" * 100_000 + b"]" * 100_000,
                       headers={TOKEN_HEADER: TOKEN, "Content-Type": "application/json"})
    assert deep.status_code == 400
    assert deep.json()["error"] == "the request could not be read as JSON; reload the page"
    large = client.post("/api/chat", content=b" " * 2_000_000,
                        headers={TOKEN_HEADER: TOKEN, "Content-Type": "application/json"})
    assert large.status_code == 413
    assert "larger than" in large.json()["error"]


@pytest.mark.parametrize("host", ["[::1]evil.example", "[::1]:80x", "localhost:evil",
                                  "127.0.0.1:8765.evil.example"])
def test_a_host_that_only_starts_like_a_loopback_name_is_refused(content, host):
    client = TestClient(studio_app(Workbench(content), token=TOKEN, watch=False), base_url=HERE)
    assert client.get("/api/revision", headers={"Host": host}).status_code == 400
    assert client.get("/api/revision", headers={"Host": "[::1]:8765"}).status_code == 200


def test_no_other_site_can_frame_the_page_and_it_loads_nothing_from_elsewhere(content):
    client = TestClient(studio_app(Workbench(content), token=TOKEN, watch=False), base_url=HERE)
    for path in ("/", "/api/revision"):
        answer = client.get(path)
        assert answer.headers["X-Frame-Options"] == "DENY"
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    page = client.get("/")
    nonce = page.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_stopping_the_studio_during_a_comparison_leaves_no_copy_behind(tmp_path, stop):
    import os
    import signal
    import sys
    repo = tmp_path / "repo"
    for name in ("dialogs", "locales"):
        shutil.copytree(ROOT / name, repo / name)
    git = ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "content"], check=True)
    dialog_file = repo / "dialogs" / "kaki_kebas.yaml"  # a change: every path is compared
    dialog_file.write_text(dialog_file.read_text(encoding="utf-8").replace(
        "level: emergency", "level: urgent", 1), encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "bot", "studio", "--port", "0"], cwd=repo,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    try:
        deadline = time.monotonic() + 60
        while not list(scratch.glob("kebas-diff-*")):
            assert process.poll() is None and time.monotonic() < deadline, "no comparison"
            time.sleep(0.05)
        process.send_signal(getattr(signal, stop))
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert not list(scratch.glob("kebas-diff-*"))
    assert "Traceback" not in err


def test_the_question_card_names_its_languages_in_words_and_the_page_has_an_icon(content):
    bench = Workbench(content)
    client = TestClient(studio_app(bench, token=TOKEN, watch=False), base_url=HERE)
    with client:
        loaded(bench, client)
        card = client.get("/api/node", params={"dialog": "kaki_kebas", "id": "a12_alarm"}).text
        assert "<th>Bahasa Indonesia</th><th>English</th>" in card
        assert "<th>id</th>" not in card and "<th>en</th>" not in card
        assert '<link rel="icon"' in client.get("/").text


def test_locales_outside_the_dialogs_repository_are_said_in_plain_words(tmp_path):
    repo = ExampleRepo(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere" / "locales"
    shutil.copytree(repo.folder / "locales", elsewhere)
    bench = Workbench([repo.folder / "dialogs", elsewhere])
    bench.reload()
    assert bench.panels.failure is None
    changes = bench.panels.changes
    assert changes is not None and changes.problem is not None
    assert "not in the same git repository" in changes.problem


def test_a_failed_scenario_leads_with_what_went_differently(content):
    scenarios = content[0] / "scenarios" / "brief_rules.yaml"
    text = scenarios.read_text(encoding="utf-8")
    scenarios.write_text(text.replace("    triage: self_care", "    triage: emergency", 1),
                         encoding="utf-8")
    bench = Workbench(content)
    bench.reload()
    page = render("panels.html.j2", panels=bench.panels)
    summary = html.unescape(page.split('<summary class="bad">')[1].split("</summary>")[0])
    assert "brief_rules.yaml:" in summary
    assert "triage is 'self_care', expected 'emergency'" in summary


def test_a_failure_inside_the_studio_is_answered_in_words_not_a_traceback(content, monkeypatch,
                                                                          caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("something inside broke")
    monkeypatch.setattr(chat, "start", broken)
    bench = Workbench(content)
    with TestClient(studio_app(bench, token=TOKEN, watch=False), base_url=HERE) as client:
        loaded(bench, client)
        answer = client.post("/api/chat", json={"lang": "id"}, headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 500
    assert answer.json()["error"].startswith("the studio failed on this request "
                                             "(RuntimeError: something inside broke)")
    assert "Traceback" not in caplog.text
