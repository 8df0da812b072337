"""`kebas check`: one broken sample per check, each naming the FILE:LINE it must be reported at.

Each case under tests/broken/<case>/ holds a `dialogs/` and/or a `locales/` folder; whatever a
case does not hold is taken from the clean example in docs/example/. The broken file says what
is expected in `# expect: [FILE:]LINE severity message[|hint]` lines (FILE defaults to the file
holding the line). A case must produce exactly its
expected errors: a check that reports noise elsewhere fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content.checks import check_bundle
from bot.content.loader import load_bundle
from bot.core.problems import Severity

from support.broken import CASES, EXAMPLE, case_paths, expectations

ROOT = Path(__file__).resolve().parents[2]
EXPECT = re.compile(r"^# expect: (?:(\S+):)?(\d+) (error|warning) (.*)$")


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_broken_sample_is_reported_at_its_line(case):
    expected = expectations(case)
    assert expected, f"{case.name} has no '# expect:' line"
    problems = check_bundle(load_bundle(case_paths(case)))
    for file, line, severity, message, hint in expected:
        matching = [p for p in problems if p.position.file == file and p.position.line == line
                    and p.severity is severity and message in p.message and hint in p.hint]
        assert matching, (f"expected {file}:{line}: {severity.value}: {message}\n"
                          f"got:\n" + "\n".join(map(str, problems)))
    expected_errors = sum(1 for entry in expected if entry[2] is Severity.ERROR)
    errors = [p for p in problems if p.is_error]
    assert len(errors) == expected_errors, "unexpected errors:\n" + "\n".join(map(str, errors))


def test_every_problem_line_has_the_editor_format():
    problems = check_bundle(load_bundle(case_paths(ROOT / "tests" / "broken" / "unknown_key")))
    assert len(problems) == 1, "a dialog that fails to load must not make its texts 'unused'"
    text = str(problems[0])
    assert re.match(r"^tests/broken/unknown_key/dialogs/contoh\.yaml:\d+:\d+: error: ", text)
    assert "\n    hint: did you mean 'set'?" in text


def test_the_example_in_the_docs_is_clean():
    problems = check_bundle(load_bundle([EXAMPLE / "dialogs", EXAMPLE / "locales"]))
    assert problems == [], "\n".join(map(str, problems))


def test_the_shipped_dialog_and_locales_are_clean(shipped):
    problems = check_bundle(shipped)
    assert problems == [], "\n".join(map(str, problems))
    assert {d.dialog.id for d in shipped.dialogs} == {"kaki_kebas", "kaki_kebas_checkin"}
    assert set(shipped.locales) == {"id", "en"}
