"""The clinical evaluation: runner vignettes, written as facts with what a careful GP would
advise, run through the real engine, and scored as the symptom-checker literature scores.

A vignette (`tests/vignettes/*.yaml`) holds a story, the expected triage, causes and red flags,
and the answers a person mapped from the story without seeing the scoring. Questions the dialog
asks and the mapping lacks are reported, never guessed. Pure apart from reading the files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core import engine
from bot.core.engine import StepKind
from bot.core.inputs import answer_input
from bot.core.model import Dialog, TriageLevel


@dataclass(frozen=True)
class Vignette:
    id: str
    story: str
    triage: TriageLevel
    causes_top2: tuple[str, ...]
    red_flags: tuple[str, ...]
    answers: dict[str, Any]


@dataclass
class Outcome:
    """What the dialog made of one vignette."""

    vignette: Vignette
    triage: TriageLevel | None = None
    causes: tuple[str, ...] = ()
    red_flags: tuple[str, ...] = ()
    questions: int = 0
    problem: str | None = None   # the mapping could not be run to an ending

    @property
    def safe(self) -> bool:
        return self.triage is not None and self.triage.rank >= self.vignette.triage.rank

    @property
    def exact(self) -> bool:
        return self.triage is self.vignette.triage

    @property
    def cause_in_top2(self) -> bool | None:
        """None when no cause is expected (an emergency red flag decides)."""
        if not self.vignette.causes_top2:
            return None
        return bool(set(self.causes[:2]) & set(self.vignette.causes_top2))

    @property
    def cause_first(self) -> bool | None:
        if not self.vignette.causes_top2:
            return None
        return bool(self.causes) and self.causes[0] in self.vignette.causes_top2

    @property
    def flags_found(self) -> bool:
        """Every expected red flag fired; for an emergency, one of them is enough (the
        questions end at the first emergency flag, so the others are never asked)."""
        expected, fired = set(self.vignette.red_flags), set(self.red_flags)
        if self.vignette.triage is TriageLevel.EMERGENCY and self.exact and expected:
            return bool(expected & fired)
        return expected <= fired


def load_vignettes(folder: Path) -> list[Vignette]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        expected = data["expected"]
        found.append(Vignette(data["id"], data["story"], TriageLevel(expected["triage"]),
                              tuple(expected.get("causes_top2") or ()),
                              tuple(expected.get("red_flags") or ()),
                              dict(data.get("answers") or {})))
    return found


def run(dialog: Dialog, vignette: Vignette) -> Outcome:
    """Walk the dialog with the vignette's mapped answers (those it never asks are unused)."""
    outcome = Outcome(vignette)
    step = engine.start(dialog)
    while step.prompt is not None:
        node_id = step.prompt.node_id
        if node_id not in vignette.answers:
            outcome.problem = f"no answer mapped for '{node_id}'"
            return outcome
        step = engine.step(dialog, step.state,
                           answer_input(dialog.node(node_id), vignette.answers[node_id]))
        if step.kind is not StepKind.ANSWERED:
            outcome.problem = f"the dialog refused the mapped answer to '{node_id}'"
            return outcome
        outcome.questions += 1
    if step.outcome is None:
        outcome.problem = "the dialog did not finish"
        return outcome
    outcome.triage = step.outcome.level
    outcome.causes = tuple(cause.id for cause in step.outcome.causes)
    outcome.red_flags = tuple(step.state["fired"])
    return outcome


@dataclass
class Summary:
    outcomes: list[Outcome]
    rates: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (hits, of)

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Summary:
        done = list(outcomes)
        summary = cls(done)
        ran = [outcome for outcome in done if outcome.problem is None]
        emergencies = [o for o in ran if o.vignette.triage is TriageLevel.EMERGENCY]
        with_cause = [o for o in ran if o.cause_in_top2 is not None]
        summary.rates = {
            "mapped and run to a result": (len(ran), len(done)),
            "safe triage (never less urgent)": (sum(o.safe for o in ran), len(ran)),
            "exact triage": (sum(o.exact for o in ran), len(ran)),
            "over-triage": (sum(o.safe and not o.exact for o in ran), len(ran)),
            "emergency recognised": (sum(o.exact for o in emergencies), len(emergencies)),
            "112 where a GP said less (unneeded emergency)": (
                sum(o.triage is TriageLevel.EMERGENCY for o in ran
                    if o.vignette.triage is not TriageLevel.EMERGENCY),
                len(ran) - len(emergencies)),
            "right cause in the top 2": (sum(bool(o.cause_in_top2) for o in with_cause),
                                         len(with_cause)),
            "right cause first": (sum(bool(o.cause_first) for o in with_cause),
                                  len(with_cause)),
            "expected red flags fired": (sum(o.flags_found for o in ran), len(ran)),
        }
        return summary

    def share(self, name: str) -> float:
        hits, of = self.rates[name]
        return hits / of if of else 0.0

    def markdown(self) -> str:
        """The results table, then one row per vignette that is not exact or not right."""
        lines = ["| measure | Kebas | |", "|---|---|---|"]
        for name, (hits, of) in self.rates.items():
            lines.append(f"| {name} | {hits} / {of} | {100 * hits / of if of else 0:.0f} % |")
        misses = [o for o in self.outcomes if o.problem or not o.exact
                  or o.cause_in_top2 is False or not o.flags_found]
        if misses:
            lines += ["", "| vignette | expected | Kebas | causes shown | red flags fired |",
                      "|---|---|---|---|---|"]
            for o in misses:
                said = o.problem or (o.triage.value if o.triage else "—")
                expected = o.vignette.triage.value + (
                    f" ({', '.join(o.vignette.causes_top2)})" if o.vignette.causes_top2 else "")
                lines.append(f"| {o.vignette.id} | {expected} | {said} | "
                             f"{', '.join(o.causes) or '—'} | {', '.join(o.red_flags) or '—'} |")
        return "\n".join(lines) + "\n"
