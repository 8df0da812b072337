"""Maintainer scenarios: a runner's answers and what the result must say, checked by the engine.

A scenario file (`dialogs/scenarios/*.yaml`) is a list:

    - name: "Perokok 62 tahun, betis kram di jarak yang sama"
      answers:                 # question id -> option id, [option ids] or a number
        a12_alarm: [none]
        e1_age: 62
      expect:
        outcome: end_result
        triage: soon
        causes: {pad: 1}       # cause id -> must be within the top N shown
        not_causes: [cecs]
        red_flags: []          # exactly these fired (any order)
        texts: ["ABI"]         # must appear in the transcript (in `language`)
        keys: [cause.pad.todo] # text keys that must be shown

Answers are given in whatever order the dialog asks. A question the scenario does not
answer, an answer the dialog refuses, or an answer never asked for is a failure too. The
runner is pure: it steps the engine and renders with the same code the channels use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.content.loader import Bundle, explain_validation
from bot.content.yamlsource import SourceDocument, read_yaml
from bot.core import engine, graph, proofs
from bot.core.engine import StepKind
from bot.core.i18n import Locale
from bot.core.inputs import answer_input
from bot.core.model import Dialog, Level
from bot.core.outcome import Outcome
from bot.core.problems import Position, Problem, error
from bot.core.render import answer_text, compose

AnswerValue = int | float | str | list[str]


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: str | None = None
    triage: Level | None = None
    causes: dict[str, int] = Field(default_factory=dict,
                                   description="cause id -> within the top N shown")
    not_causes: list[str] = Field(default_factory=list)
    red_flags: list[str] | None = Field(default=None, description="exactly these fired")
    texts: list[str] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    dialog: str | None = None
    language: str = "id"
    answers: dict[str, AnswerValue]
    expect: Expect = Field(default_factory=Expect)


@dataclass
class LoadedScenario:
    scenario: Scenario
    position: Position


@dataclass
class Result:
    scenario: LoadedScenario
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    transitions: set[tuple[str, str]] = field(default_factory=set)
    options: set[tuple[str, str]] = field(default_factory=set)
    causes: set[str] = field(default_factory=set)
    red_flags: set[str] = field(default_factory=set)

    @property
    def passed(self) -> bool:
        return not self.failures

    def report(self) -> str:
        lines = [f"{self.scenario.position}: scenario '{self.scenario.scenario.name}' failed:"]
        lines += [f"  - {failure}" for failure in self.failures]
        lines.append("  transcript:")
        lines += [f"    {line}" for line in self.transcript]
        return "\n".join(lines)


@dataclass
class Unrunnable:
    """A scenario naming a dialog or a language the content does not have."""

    scenario: LoadedScenario
    reason: str

    def report(self) -> str:
        return f"{self.scenario.position}: {self.reason}"


@dataclass
class Suite:
    """`kebas scenarios`: the scenario files read, each scenario run, and what they cover."""

    problems: list[Problem]           # scenario files that could not be read as scenarios
    runs: list[Result | Unrunnable]   # in file order
    results: dict[str, list[Result]]  # dialog id -> the runs of its scenarios
    coverage: dict[str, Coverage]     # dialog id -> what they exercise

    @property
    def unreadable(self) -> bool:
        return any(problem.is_error for problem in self.problems)

    @property
    def failed(self) -> list[Result | Unrunnable]:
        return [run for run in self.runs if isinstance(run, Unrunnable) or not run.passed]


def run_suite(bundle: Bundle, files: list[Path], keep_going: bool = False) -> Suite:
    """Read the scenarios in `files` (files or folders), run them on `bundle` and measure
    each dialog's coverage; nothing is run when a file cannot be read as scenarios, unless
    `keep_going` (the studio), which runs the scenarios that could be read."""
    scenarios, problems = load_scenarios(files)
    if not keep_going and any(problem.is_error for problem in problems):
        return Suite(problems, [], {}, {})
    runs = run_scenarios(bundle, scenarios)
    by_dialog: dict[str, list[Result]] = {}
    for run in runs:
        if isinstance(run, Result):
            dialog_id = bundle.dialog(run.scenario.scenario.dialog).id
            by_dialog.setdefault(dialog_id, []).append(run)
    covered = {dialog_id: coverage(bundle.dialog(dialog_id), results,
                                   proofs.prove(bundle.dialog(dialog_id)).transitions)
               for dialog_id, results in by_dialog.items()}
    return Suite(problems, runs, by_dialog, covered)


def run_scenarios(bundle: Bundle, scenarios: list[LoadedScenario]) -> list[Result | Unrunnable]:
    """Each scenario run against its dialog and language in `bundle`, in the order given."""
    runs: list[Result | Unrunnable] = []
    for loaded in scenarios:
        scenario = loaded.scenario
        try:
            dialog = bundle.dialog(scenario.dialog)
        except KeyError:
            runs.append(Unrunnable(loaded, f"scenario '{scenario.name}' names the unknown "
                                           f"dialog '{scenario.dialog}'"))
            continue
        locale = bundle.locales.get(scenario.language)
        if locale is None:
            runs.append(Unrunnable(loaded, f"there is no locale '{scenario.language}'"))
            continue
        runs.append(run_scenario(dialog, locale, loaded))
    return runs


# --- loading ----------------------------------------------------------------------------


def load_scenarios(paths: list[Path]) -> tuple[list[LoadedScenario], list[Problem]]:
    scenarios: list[LoadedScenario] = []
    problems: list[Problem] = []
    files = []
    for path in paths:
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    for file in files:
        source, found = read_yaml(file)
        problems += found
        if source is None:
            continue
        if not isinstance(source.data, list):
            problems.append(error(source.position(()), "a scenario file is a list of "
                                  "scenarios", "start each one with '- name: ...'"))
            continue
        for index, item in enumerate(source.data):
            try:
                scenario = Scenario.model_validate(item)
            except ValidationError as exc:
                problems += explain_validation(exc, _Shifted(source, index))
                continue
            scenarios.append(LoadedScenario(scenario, source.position((index, "name"))))
    return scenarios, problems


class _Shifted(SourceDocument):
    """Positions of one list item, so validation errors point into the right scenario."""

    def __init__(self, source: SourceDocument, index: int) -> None:
        super().__init__(source.file, source.data[index])
        self.positions = {path[1:]: position for path, position in source.positions.items()
                          if path[:1] == (index,)}
        self.positions.setdefault((), source.position((index,)))


# --- running ----------------------------------------------------------------------------


def run_scenario(dialog: Dialog, locale: Locale, loaded: LoadedScenario) -> Result:
    scenario = loaded.scenario
    result = Result(loaded)
    step = engine.start(dialog)
    said_keys: set[str] = set()
    previous: str | None = None
    _record_said(step, locale, result, said_keys)
    _note_passage(None, step, result)
    unused = dict(scenario.answers)
    for _turn in range(len(dialog.nodes) + 1):
        if step.prompt is None:
            break
        node_id = step.prompt.node_id
        if node_id not in scenario.answers:
            result.failures.append(f"the dialog asks '{node_id}', but the scenario has no "
                                   f"answer for it")
            break
        value = unused.pop(node_id, scenario.answers[node_id])
        node = dialog.node(node_id)
        after = engine.step(dialog, step.state, answer_input(node, value))
        if after.kind is not StepKind.ANSWERED:
            reason = locale.text(after.said[0].key, **after.said[0].params) if after.said \
                else after.kind.value
            result.failures.append(f"the dialog refused the answer {value!r} to '{node_id}': "
                                   f"{reason}")
            break
        result.transcript.append(f"A ({node_id}): {answer_text(node, value, locale)}")
        _count_options(node, value, result)
        _note_passage(node_id, after, result)
        previous, step = node_id, after
        _record_said(step, locale, result, said_keys)
    if step.outcome is not None:
        result.red_flags.update(step.state["fired"])
        result.causes.update(cause.id for cause in step.outcome.causes)
        _check_expectations(scenario, step.outcome, step.state["fired"], said_keys, result)
    elif not result.failures:
        result.failures.append(f"the dialog did not finish (last question: {previous})")
    stopped_early = bool(result.failures)
    for node_id in unused:
        if node_id not in dialog.node_by_id:
            result.failures.append(f"the answer for '{node_id}' was never asked for (there "
                                   f"is no such question)")
        elif not stopped_early:  # after an early stop, later answers were simply not reached
            result.failures.append(f"the answer for '{node_id}' was never asked for")
    return result


def _record_said(step: engine.Step, locale: Locale, result: Result, keys: set[str]) -> None:
    messages, question = compose(step, locale)
    for said in step.said:
        keys.add(said.key)
    if step.outcome is not None:
        outcome = step.outcome
        keys.update({outcome.text, outcome.disclaimer, f"triage.{outcome.level.value}.title"})
        keys.update(k for k in (outcome.safety_net, outcome.no_clear_cause) if k)
        for cause in outcome.causes:
            keys.update({cause.title, cause.explain, cause.todo})
        for flag in outcome.red_flags:
            keys.add(flag.title)
    for message in messages:
        result.transcript.extend(f"{'!' if line.strong else ' '} {line.text}"
                                 for line in message.lines)
    if question is not None:
        result.transcript.append(f"Q ({question.prompt.node_id}): {question.lines[0].text}")
        keys.add(question.prompt.text)


def _note_passage(answered: str | None, step: engine.Step, result: Result) -> None:
    """The transitions this step took: from the answered question through info nodes."""
    chain = ((answered,) if answered else ()) + step.passed
    result.transitions.update(zip(chain, chain[1:]))


def _count_options(node: Any, value: AnswerValue, result: Result) -> None:
    for item in value if isinstance(value, list) else [value]:
        if getattr(node, "options", None):
            result.options.add((node.id, str(item)))


def _check_expectations(scenario: Scenario, outcome: Outcome, fired_flags: list[str],
                        said_keys: set[str], result: Result) -> None:
    expect = scenario.expect
    shown = [cause.id for cause in outcome.causes]
    if expect.outcome and outcome.node_id != expect.outcome:
        result.failures.append(f"ended at '{outcome.node_id}', expected '{expect.outcome}'")
    if expect.triage and outcome.level is not expect.triage:
        result.failures.append(f"triage is '{outcome.level.value}', expected "
                               f"'{expect.triage.value}'")
    for cause, top in expect.causes.items():
        if cause not in shown[:top]:
            result.failures.append(f"cause '{cause}' is not in the top {top} "
                                   f"(shown: {', '.join(shown) or 'none'})")
    for cause in expect.not_causes:
        if cause in shown:
            result.failures.append(f"cause '{cause}' is shown but should not be")
    if expect.red_flags is not None:
        fired = sorted(fired_flags)
        if fired != sorted(expect.red_flags):
            result.failures.append(f"red flags fired: {', '.join(fired) or 'none'}; expected "
                                   f"{', '.join(sorted(expect.red_flags)) or 'none'}")
    transcript = "\n".join(result.transcript)
    for text in expect.texts:
        if text not in transcript:
            result.failures.append(f"the text {text!r} does not appear")
    for key in expect.keys:
        if key not in said_keys:
            result.failures.append(f"the text key '{key}' is not shown")


# --- coverage ---------------------------------------------------------------------------


@dataclass
class Coverage:
    transitions: set[tuple[str, str]]
    covered_transitions: set[tuple[str, str]]
    options: set[tuple[str, str]]
    covered_options: set[tuple[str, str]]
    causes: set[str]
    covered_causes: set[str]
    red_flags: set[str]
    covered_red_flags: set[str]

    impossible: set[tuple[str, str]] = field(default_factory=set)

    def lines(self) -> list[str]:
        rows: list[tuple[str, set[Any], set[Any]]] = [
            ("transitions", self.transitions, self.covered_transitions),
            ("options", self.options, self.covered_options),
            ("causes", self.causes, self.covered_causes),
            ("red flags", self.red_flags, self.covered_red_flags)]
        lines = []
        for label, everything, covered in rows:
            hit = len(everything & covered)
            share = 100.0 * hit / len(everything) if everything else 100.0
            lines.append(f"{label}: {hit}/{len(everything)} covered ({share:.0f}%)")
            missing = sorted(everything - covered)
            if missing:
                shown = [" -> ".join(item) if isinstance(item, tuple) else item
                         for item in missing]
                lines.append(f"  not covered: {', '.join(shown)}")
        if self.impossible:
            shown = [" -> ".join(item) for item in sorted(self.impossible)]
            lines.append(f"transitions no answers can take (not counted): {', '.join(shown)}")
        return lines


def coverage(dialog: Dialog, results: list[Result],
             possible: set[tuple[str, str]] | None = None) -> Coverage:
    """What the scenarios exercise. `possible`: the transitions some path can take (from the
    safety proof); the others are listed apart, since no scenario could cover them."""
    edges = graph.edges(dialog)
    transitions = {(source, target) for source, targets in edges.items() for target in targets}
    impossible = transitions - possible if possible is not None else set()
    transitions -= impossible
    options = {(node.id, option.id) for node in dialog.nodes
               for option in getattr(node, "options", [])}

    def covered(name: str) -> set[Any]:
        return set().union(*(getattr(result, name) for result in results))

    return Coverage(transitions, covered("transitions"), options, covered("options"),
                    {cause.id for cause in dialog.causes}, covered("causes"),
                    {flag.id for flag in dialog.red_flags}, covered("red_flags"), impossible)
