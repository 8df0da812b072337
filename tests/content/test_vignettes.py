"""The clinical evaluation set (issue 15): runner vignettes written blind from the brief, mapped
blind to answers, run through the real engine; safety is a hard line, the rest is published in
docs/clinical-evaluation.md and must stay true."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.model import TriageLevel
from bot.tools.evaluation import Summary, Vignette, load_vignettes, run

ROOT = Path(__file__).resolve().parents[2]
VIGNETTES = load_vignettes(ROOT / "tests" / "vignettes")
MAPPED = [vignette for vignette in VIGNETTES if vignette.answers]


def test_the_harness_scores_safety_exactness_and_causes(shipped):
    answers = {"a12_alarm": ["none"], "a3_saddle": "no", "a45_leg": ["none"],
               "a7_weakness": ["none"], "a8_now": "gone", "b1_onset": "weeks_months",
               "b2_start": "same_point", "b3_relief": "within_5_min", "c1_pain": "cramp_calf",
               "c2_back": "no", "d1_where": ["calf"], "d2_sides": "left", "e3_changed": "none",
               "e1_age": 62, "e2_history": ["smoker_now"], "e4_foot": ["none"],
               "unasked": "ignored"}
    exact = run(shipped.dialog(), Vignette("pad", "", TriageLevel.SOON, ("pad",), (), answers))
    assert exact.problem is None and exact.safe and exact.exact and exact.cause_in_top2
    under = run(shipped.dialog(), Vignette("u", "", TriageLevel.URGENT, ("cecs",), ("rf_x",),
                                           answers))
    assert not under.safe and under.cause_in_top2 is False and not under.flags_found
    gap = run(shipped.dialog(), Vignette("g", "", TriageLevel.SOON, (), (), {}))
    assert gap.problem == "no answer mapped for 'a12_alarm'"
    summary = Summary.of([exact, under, gap])
    assert summary.rates["safe triage (never less urgent)"] == (1, 2)
    assert summary.rates["mapped and run to a result"] == (2, 3)
    assert "| u | urgent (cecs) | soon |" in summary.markdown()


def test_there_are_at_least_40_vignettes_covering_every_cause_and_red_flag(shipped):
    assert len(VIGNETTES) >= 40
    dialog = shipped.dialog()
    expected_causes = {cause for v in VIGNETTES for cause in v.causes_top2}
    assert {cause.id for cause in dialog.causes} <= expected_causes
    brief_flags = {"rf_chest_pain", "rf_stroke", "rf_cauda_equina", "rf_acute_ischemia",
                   "rf_sudden_paralysis", "rf_compartment_acute", "rf_pe", "rf_dvt",
                   "rf_foot_drop", "rf_persistent_numbness", "rf_progressive",
                   "rf_bilateral_back", "rf_diabetic_foot", "rf_clti", "rf_rhabdo",
                   "rf_back_systemic"}
    assert brief_flags <= {flag for v in VIGNETTES for flag in v.red_flags}


@pytest.fixture(scope="module")
def evaluated(shipped) -> Summary:
    return Summary.of(run(shipped.dialog(), vignette) for vignette in VIGNETTES)


def test_every_vignette_is_mapped_and_its_answers_fit_the_dialog(evaluated):
    assert len(MAPPED) == len(VIGNETTES), "every story has its blind-mapped answers"
    unfit = [(o.vignette.id, o.problem) for o in evaluated.outcomes if o.problem]
    assert unfit == [], "a question changed: map these stories again, blind"


def test_no_vignette_is_under_triaged(evaluated):
    under = [(o.vignette.id, o.vignette.triage.value, o.triage.value if o.triage else None)
             for o in evaluated.outcomes if not o.safe]
    assert under == [], "Kebas must never be less urgent than a careful GP"


def test_the_published_evaluation_is_the_current_one(shipped, evaluated):
    page = (ROOT / "docs" / "clinical-evaluation.md").read_text(encoding="utf-8")
    dialog = shipped.dialog()
    current = (f"{dialog.id} v{dialog.version}, {len(VIGNETTES)} vignettes\n\n"
               + evaluated.markdown())
    assert current in page, ("docs/clinical-evaluation.md is out of date: paste the output of "
                             "'.venv/bin/python bench/clinical_eval.py'")
