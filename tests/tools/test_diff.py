"""`kebas diff`: which answer paths change ending, triage, red flags or causes between versions.

The small test dialog is small enough to walk every raw answer by brute force, so the counts
the diff reports are checked against an independent enumeration through the engine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from itertools import combinations, product
from pathlib import Path

import yaml

from bot.cli.main import main
from bot.content.loader import parse_dialog
from bot.core import engine
from bot.core.inputs import Choose, ChooseMany, Typed
from bot.core.model import (
    Dialog,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    options_of,
)
from bot.core.proofs import prove
from bot.tools.diff import Result, compare
from bot.tools.diff_report import report_lines

from conftest import DATA, ROOT, load_test_dialog


def edited(change) -> Dialog:
    """The test dialog with one edit applied to its YAML."""
    data = yaml.safe_load((DATA / "engine_dialog.yaml").read_text(encoding="utf-8"))
    change(data)
    loaded, problems = parse_dialog(yaml.safe_dump(data, sort_keys=False), "edited.yaml")
    assert loaded is not None, problems
    return loaded.dialog


def item(items: list[dict], item_id: str) -> dict:
    return next(entry for entry in items if entry["id"] == item_id)


def raw_answers(node) -> list:
    if isinstance(node, NumberQuestion):
        return list(range(int(node.min), int(node.max) + 1))
    ids = [option.id for option in options_of(node)]
    if not isinstance(node, MultiQuestion):
        return ids
    plain = [option.id for option in options_of(node) if not option.exclusive]
    subsets = [list(chosen) for size in range(1, len(plain) + 1)
               for chosen in combinations(plain, size)]
    return subsets + [[option.id] for option in options_of(node) if option.exclusive]


def brute_force(old: Dialog, new: Dialog, with_causes: bool) -> dict[tuple[Result, Result], int]:
    """Every raw answer to every question both versions ask (same questions in both here)."""
    questions = [node for node in old.nodes
                 if not isinstance(node, OutcomeNode) and node.type != "info"]
    counts: dict[tuple[Result, Result], int] = {}
    seen: set[tuple] = set()
    for answers in product(*(raw_answers(node) for node in questions)):
        given = {node.id: value for node, value in zip(questions, answers)}
        results, used = [], []
        for dialog in (old, new):
            step = engine.start(dialog)
            asked = []
            while step.outcome is None:
                node = dialog.node(step.state["node"])
                value = given[node.id]
                asked.append((node.id, repr(value)))
                given_input = (Typed(str(value)) if isinstance(node, NumberQuestion) else
                               ChooseMany(tuple(value)) if isinstance(node, MultiQuestion) else
                               Choose(value))
                step = engine.step(dialog, step.state, given_input)
            results.append(Result.of(dialog, step.outcome, with_causes))
            used += asked
        path = tuple(sorted(set(used)))   # paths differ only in the questions they asked
        if path in seen:
            continue
        seen.add(path)
        pair = (results[0], results[1])
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def replayed(dialog: Dialog, example, side: int) -> Result:
    given = {}
    for question, value, only in example:
        if only is None or only == side:
            given[question] = value
    step = engine.start(dialog)
    while step.outcome is None:
        node = dialog.node(step.state["node"])
        value = given[node.id]
        given_input = (Typed(str(value)) if isinstance(node, NumberQuestion) else
                       ChooseMany(tuple(value)) if isinstance(node, MultiQuestion) else
                       Choose(value))
        step = engine.step(dialog, step.state, given_input)
    return Result.of(dialog, step.outcome, False)


# --- the comparison ----------------------------------------------------------------------


def test_a_dialog_against_itself_changes_nothing_and_counts_every_path():
    dialog = load_test_dialog()
    other = edited(lambda data: data.update(version=2))   # same behaviour, another hash
    report = compare(dialog, other, samples=200)
    assert not report.changed
    assert report.every_path.paths == prove(dialog).paths
    assert report.sampled.paths == 200


def test_a_lowered_red_flag_level_is_flagged_on_exactly_the_paths_it_touches():
    old = load_test_dialog()
    new = edited(lambda data: item(data["red_flags"], "rf_dvt").update(level="soon"))
    report = compare(old, new, samples=0)
    expected = {pair: count for pair, count in brute_force(old, new, False).items()
                if pair[0] != pair[1]}
    assert {(c.old, c.new): c.paths for c in report.every_path.changes} == expected
    assert report.lowered and all(change.less_urgent for change in report.every_path.changes)
    for change in report.every_path.changes:
        assert change.old.red_flags == change.new.red_flags == ("rf_dvt",)
        assert replayed(old, change.example, 0) == change.old
        assert replayed(new, change.example, 1) == change.new


def test_a_changed_branch_reports_the_new_ending_with_a_path_that_shows_it():
    old = load_test_dialog()
    new = edited(lambda data: item(data["nodes"], "age")["branches"][0]["when"]["age"]
                 .update(max=20))
    report = compare(old, new, samples=0)
    assert {(c.old.node, c.new.node) for c in report.every_path.changes} == {
        ("result", "too_young")}
    exact = brute_force(old, new, False)
    for change in report.every_path.changes:
        assert change.paths == exact[(change.old, change.new)]
        assert {q: v for q, v, _ in change.example}["age"] in (18, 19, 20)


def test_a_cause_whose_level_drops_is_found_by_the_sample():
    old = load_test_dialog()
    new = edited(lambda data: item(data["causes"], "pad").update(level="self_care"))
    report = compare(old, new, samples=400)
    assert not report.every_path.changes          # endings and red flags are untouched
    lowered = report.sampled.lowered
    assert lowered and all("pad" in change.new.causes for change in lowered)
    exact = brute_force(old, new, True)
    for change in report.sampled.changes:
        assert (change.old, change.new) in exact, "the sample reported a change that cannot happen"


def test_a_cause_lowered_in_the_shipped_dialog_is_found_past_its_red_flag_screening(shipped):
    """Most random paths end at the screening; the steered sample still reaches the paths
    where PAD leads a self-care ending (a regression: it used to say "no change")."""
    old = shipped.dialog()
    data = yaml.safe_load((ROOT / "dialogs" / "kaki_kebas.yaml").read_text(encoding="utf-8"))
    item(data["causes"], "pad").update(level="self_care")
    loaded, problems = parse_dialog(yaml.safe_dump(data, sort_keys=False), "edited.yaml")
    assert loaded is not None, problems
    report = compare(old, loaded.dialog, samples=300)
    assert not report.every_path.changes
    lowered = report.sampled.lowered
    assert lowered and all(change.new.causes[:1] == ("pad",) for change in lowered)
    assert {change.new.node for change in lowered} == {"end_self_care"}


def test_a_removed_option_still_walks_every_path_of_both_versions():
    old = load_test_dialog()
    new = edited(lambda data: item(data["nodes"], "calf")["options"].pop(1))   # no 'swollen'
    report = compare(old, new, samples=100)
    assert report.every_path.lowered       # 'swollen' raised the DVT flag; now it cannot
    change = report.every_path.lowered[0]
    assert "rf_dvt" in change.old.red_flags and "rf_dvt" not in change.new.red_flags
    sides = {only for _q, _v, only in change.example}
    assert 1 in sides                      # the new version had to be answered on its own


def test_the_report_is_lines_of_markup_for_the_command_to_print():
    old = load_test_dialog()
    new = edited(lambda data: item(data["red_flags"], "rf_dvt").update(level="soon"))
    lines = report_lines(compare(old, new, samples=0), ("v1", "v2"), [None, None], 30)
    assert lines[0].startswith(f"[bold]{old.id}[/bold]: v{old.version} (")
    assert lines[0].endswith(", v2)")
    assert any(line.startswith("1. [bold red]▼ LESS URGENT: urgent → soon[/bold red]; ")
               for line in lines)
    assert lines[-1].startswith("\n[bold red]Some answers now get LESS URGENT advice")
    same = report_lines(compare(old, old), ("a", "b"), [None, None], 30)
    assert same[1:] == ["the same dialog (same content hash): no answer path changes"]


# --- the command -------------------------------------------------------------------------


EXAMPLE = ROOT / "docs" / "example"


def content_copy(target: Path, edit=None, source: Path = EXAMPLE) -> Path:
    """A copy of a content folder (the small example by default: the command's own tests
    need not pay for the shipped dialog's size), with an edit to its dialogs: to every one,
    as a check-in's copy of a red flag must change with the original (issue 18)."""
    shutil.copytree(source / "dialogs", target / "dialogs")
    shutil.copytree(source / "locales", target / "locales")
    if edit is not None:
        for path in sorted((target / "dialogs").glob("*.yaml")):
            path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return target


def lower(text: str, flag: str, level: str, to: str) -> str:
    """The red flag's level lowered; a dialog without that flag stays as it is."""
    if f"  - id: {flag}\n" not in text:
        return text
    start = text.index(f"  - id: {flag}\n")
    at = text.index(f"level: {level}", start)
    return text[:at] + f"level: {to}" + text[at + len(f"level: {level}"):]


def lower_dvt(text: str) -> str:
    return lower(text, "rf_dvt", "urgent", "soon")


def lower_chest_pain(text: str) -> str:
    return lower(text, "rf_chest_pain", "emergency", "urgent")


def test_kebas_diff_flags_a_lowered_triage_in_red_and_exits_1(tmp_path, capsys):
    old = content_copy(tmp_path / "old", source=ROOT)
    new = content_copy(tmp_path / "new", lower_dvt, source=ROOT)
    assert main(["diff", str(old), str(new), "--samples", "50"]) == 1
    out = capsys.readouterr().out
    assert "LESS URGENT" in out
    assert "SEGERA (hari ini) → PERIKSA DALAM BEBERAPA HARI" in out
    # the example, in words
    assert re.search(r"a12_alarm: .* → Satu betis bengkak, hangat/nyeri", out)


def test_kebas_diff_paints_less_urgent_red_on_a_terminal(tmp_path):
    old = content_copy(tmp_path / "old")
    new = content_copy(tmp_path / "new", lower_chest_pain)
    done = subprocess.run([sys.executable, "-m", "bot", "diff", str(old), str(new),
                           "--samples", "0"], capture_output=True, text=True,
                          env={"FORCE_COLOR": "1", "PATH": "/usr/bin:/bin"}, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    assert re.search(r"\x1b\[[0-9;]*31m[^\n]*LESS URGENT", done.stdout)


def test_kebas_diff_of_the_same_content_says_nothing_changes(tmp_path, capsys):
    assert main(["diff", str(content_copy(tmp_path / "a", source=ROOT)), str(ROOT)]) == 0
    assert "no answer path changes" in capsys.readouterr().out


def test_kebas_diff_reads_git_revisions(tmp_path, capsys, monkeypatch):
    repo = content_copy(tmp_path / "repo")
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                       check=True, capture_output=True)
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    path = repo / "dialogs" / "contoh.yaml"
    path.write_text(lower_chest_pain(path.read_text(encoding="utf-8")), encoding="utf-8")
    git("commit", "-q", "-am", "lower dvt")
    monkeypatch.chdir(repo)
    assert main(["diff", "HEAD~1", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "HEAD~1 (git)" in out and "LESS URGENT" in out
    assert main(["diff", "HEAD", "."]) == 0


def test_kebas_diff_explains_what_it_cannot_compare(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "no-such-thing", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert "'no-such-thing' is not a folder" in err and "revision" in err
    broken = content_copy(tmp_path / "broken",
                          lambda text: text.replace("start: chest_pain", "start: nowhere"))
    assert main(["diff", str(EXAMPLE), str(broken)]) == 2, "1 would mean: a path changed"
    err = capsys.readouterr().err
    assert "contoh.yaml:" in err and "cannot compare" in err


def test_kebas_diff_of_one_version_compares_it_with_the_content_kebas_uses(tmp_path, capsys,
                                                                          monkeypatch):
    """NEW, when not given, is found as by every command: KEBAS_DIALOGS and KEBAS_LOCALES,
    else ./dialogs and ./locales, else the shipped copy."""
    for name in ("KEBAS_DIALOGS", "KEBAS_LOCALES"):
        monkeypatch.delenv(name, raising=False)
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    monkeypatch.chdir(nothing)
    assert main(["diff", str(content_copy(tmp_path / "shipped", source=ROOT))]) == 0
    assert "no answer path changes" in capsys.readouterr().out
    lowered = content_copy(tmp_path / "lowered", lower_chest_pain)
    monkeypatch.setenv("KEBAS_DIALOGS", str(lowered / "dialogs"))
    monkeypatch.setenv("KEBAS_LOCALES", str(lowered / "locales"))
    assert main(["diff", str(EXAMPLE), "--samples", "0"]) == 1
    assert "LESS URGENT" in capsys.readouterr().out
    for name in ("KEBAS_DIALOGS", "KEBAS_LOCALES"):
        monkeypatch.delenv(name)
    monkeypatch.chdir(lowered)
    assert main(["diff", str(EXAMPLE), "--samples", "0"]) == 1
    assert "LESS URGENT" in capsys.readouterr().out


def test_kebas_diff_of_content_it_cannot_load_exits_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for pair in ([str(empty), str(EXAMPLE)], [str(EXAMPLE), str(empty)]):
        assert main(["diff", *pair]) == 2
        err = capsys.readouterr().err
        assert "no .yaml files" in err and "cannot compare" in err and "Traceback" not in err
