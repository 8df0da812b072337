"""Build tests/broken/<case>/... from docs/example by one targeted edit each.
# Regenerate with: python tests/support/make_broken.py (then review the diff).

The expected line is the line the edit touched (marked with <<<), never taken from the checker.
"""
import re
from pathlib import Path

root = Path(__file__).resolve().parents[2]
example = (root / "docs/example/dialogs/contoh.yaml").read_text()
# strip the header comments of the example; each case gets its own header
body = "\n".join(l for l in example.splitlines() if not l.startswith("# ")) + "\n"

def case(name, old, new, expect, count=1, why=""):
    assert body.count(old) >= 1, (name, old)
    text = body.replace(old, new, count)
    lines = text.splitlines()
    marked = [i for i, l in enumerate(lines) if "<<<" in l]
    assert marked, name
    header = [f"# {why}"] if why else []
    for exp in expect:
        header.append(f"# expect: {exp}")
    offset = len(header)
    out = []
    for _i, l in enumerate(lines):
        out.append(l.replace("  # <<<", "").replace(" # <<<", "").replace("<<<", ""))
    # substitute {L0}, {L1}.. with 1-based line numbers of the marked lines in the final file
    lines_no = [m + 1 + offset for m in marked]
    def find(match):
        needle = match.group(1)
        hits = [i + 1 + offset for i, l in enumerate(out) if needle in l]
        assert hits, (name, needle)
        return str(hits[0])
    header = [re.sub(r"\{find:([^}]*)\}", find, h) for h in header]
    header = [re.sub(r"^(# expect: \{0\}):\d+", r"\1", h) for h in header]
    header = [h.replace("{0}", str(lines_no[0])) for h in header]
    path = root / "tests/broken" / name / "dialogs" / "contoh.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header + out) + "\n")

case("yaml_syntax", "    text: q.where\n", "    text: q.where\n   options: [  # <<<\n",
     ["{0}:4 error YAML syntax error"], why="bad indentation and an unclosed list")
case("unknown_key", "      - {id: sole, text: opt.sole}", "      - {id: sole, text: opt.sole, sett: {x: 1}}  # <<<",
     ["{0}:38 error unknown key 'sett' in node 'where', option 'sole'|did you mean 'set'?"])
case("wrong_type", "    min: 12\n", "    min: twelve  # <<<\n", ["{0}:10 error expected a number, got 'twelve' in node 'age'"])
case("unknown_node_type", "    type: multi\n", "    type: multiple  # <<<\n",
     ["{0}:5 error unknown node type 'multiple'|use one of: choice, multi"])
case("duplicate_yaml_key", "    text: out.too_young\n", "    text: out.too_young\n    text: out.result  # <<<\n",
     ["{0}:5 error duplicate key 'text'"])
case("duplicate_node_id", "  - id: result\n    type: outcome\n    text: out.result\n",
     "  - id: result\n    type: outcome\n    text: out.result\n  - id: where  # <<<\n    type: outcome\n    text: out.result\n",
     ["{0}:5 error duplicate node id 'where'"])
case("duplicate_option_id", "      - {id: top_of_foot, text: opt.top_of_foot}\n", "      - {id: top_of_foot, text: opt.top_of_foot}\n      - {id: top_of_foot, text: opt.sole}  # <<<\n",
     ["{0}:9 error duplicate option of node 'where' id 'top_of_foot'"])
case("unknown_transition", "    next: age\n", "    next: agee  # <<<\n",
     ["{0}:11 error 'agee' is not a node|did you mean 'age'?"])
case("stop_at_not_outcome", "    stop_at: result ", "    stop_at: where  # <<<",
     ["{0}:5 error red flag 'rf_chest_pain' stops at 'where', which is not an outcome"])
case("emergency_without_stop",
     "    level: emergency\n    title: rf.chest_pain.title\n    advice: rf.chest_pain.advice\n    stop_at: result            # end at once; leave out to go on asking\n",
     "    level: emergency  # <<<\n    title: rf.chest_pain.title\n    advice: rf.chest_pain.advice\n",
     ["{0}:12 error emergency red flag 'rf_chest_pain' does not stop the questions|add 'stop_at:' naming the emergency ending: a runner told to call for help now must not be asked more questions"],
     why="an emergency red flag must end the questions (an outside review removed stop_at and every check passed)")
case("unreachable_node", "        next: too_young\n", "        next: result  # <<<\n",
     ["{find:- id: too_young} warning node 'too_young' can never be reached"], why="the only way to too_young was removed")
AGE_EXITS = "    next: result\n    branches:                  # tried in order before `next`\n      - when: {age: {max: 17}}\n        next: too_young\n"
case("cycle_without_exit", AGE_EXITS,
     "    next: where  # <<<\n    branches:\n      - when: {age: {max: 17}}\n        next: where\n",
     ["{find:- id: where} error the loop where -> age -> where has no way out",
      "{find:- id: too_young} warning node 'too_young' can never be reached"],
     why="age goes back to where whatever the answer, and nothing leaves the loop")
case("no_outcome_reachable", AGE_EXITS,
     "    next: trap  # <<<\n  - id: trap\n    type: info\n    text: out.too_young\n    next: trap\n",
     ["{find:- id: trap} error the loop trap -> trap has no way out",
      "{find:- id: where} error no outcome can be reached from node 'where'",
      "{find:- id: age} error no outcome can be reached from node 'age'",
      "{find:- id: too_young} warning node 'too_young' can never be reached"],
     why="age leads only into a node that loops on itself")
case("unknown_fact", "    when: {chest_pain: \"yes\"}", "    when: {chest_pains: \"yes\"}  # <<<",
     ["{0}:16 error the condition names 'chest_pains', which no question asks|did you mean 'chest_pain'?"])
case("unknown_value", "      - when: {age: {max: 17}}", "      - when: {where: heel}  # <<<",
     ["{0}:17 error 'where' can never be 'heel'"])
case("range_on_choice", "      - {when: {where: sole}, points: 4}", "      - {when: {where: {min: 3}}, points: 4}  # <<<",
     ["{0}:17 error 'where' is not a number question"])
case("missing_text", "    text: q.age\n", "    text: q.age_years  # <<<\n",
     ["{0}:11 error text 'q.age_years' is missing in docs/example/locales/en.yaml",
      "{0}:11 error text 'q.age_years' is missing in docs/example/locales/id.yaml"])
LONG = "none_of_these_places_not_the_sole_nor_the_top"
# "t:" + 8-char session + ":" + 4-digit step + ":" + "where" + ":" + option id
NEEDED = len(f"t:zzzzzzzz:9999:where:{LONG}")
assert NEEDED > 64
case("callback_too_long", "      - {id: none, text: opt.none, exclusive: true}",
     f"      - {{id: {LONG}, text: opt.none, exclusive: true}}  # <<<",
     [f"{{0}}:13 error node id 'where' with option id '{LONG}' needs {NEEDED} bytes|shorten the node or option id by {NEEDED - 64} characters"])
case("multi_without_none", "      - {id: none, text: opt.none, exclusive: true}   # \"none of these\"", "      - {id: none, text: opt.none}  # <<<",
     ["{find:    options:} error multiple-choice question 'where' has no 'none of these' option"])
case("empty_condition", "      - when: {age: {max: 17}}", "      - when: {}  # <<<",
     ["{0}:15 error an empty condition is always true"])
case("number_range_reversed", "    max: 100\n", "    max: 10  # <<<\n",
     ["{find:- id: age} error 'min' (12) is larger than 'max' (10)"])


# --- locale cases: one edit to docs/example/locales/<lang>.yaml ---------------------------

def locale_case(name, language, old, new, expect, why=""):
    source = (root / "docs/example/locales" / f"{language}.yaml").read_text()
    assert source.count(old) == 1, (name, old)
    text = source.replace(old, new)
    lines = text.splitlines()
    marked = [i for i, l in enumerate(lines) if "<<<" in l]
    header = ([f"# {why}"] if why else []) + [f"# expect: {e}" for e in expect]
    out = [l.replace("  # <<<", "") for l in lines]
    if marked:
        header = [h.replace("{0}", str(marked[0] + 1 + len(header))) for h in header]
    path = root / "tests/broken" / name / "locales" / f"{language}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header + out) + "\n")


locale_case("placeholder_mismatch", "en",
            '  number_out_of_range: "Please type a number between {min} and {max}."',
            '  number_out_of_range: "Please type a number from {min}."  # <<<',
            ["{0} error text 'error.number_out_of_range' has placeholders {min} but "
             "docs/example/locales/id.yaml has {max}, {min}|use the same {names}"])
locale_case("unknown_placeholder", "en",
            '  number_out_of_range: "Please type a number between {min} and {max}."',
            '  number_out_of_range: "Please type a number between {min} and {maks}."  # <<<',
            ["{0} error text 'error.number_out_of_range' uses {maks}, which nothing fills in"
             "|did you mean 'max'?",
             "{0} error text 'error.number_out_of_range' has placeholders {maks}, {min}"])
locale_case("malformed_braces", "en",
            '  number_out_of_range: "Please type a number between {min} and {max}."',
            '  number_out_of_range: "Please type a number between {min} and {max."  # <<<',
            ["{0} error text 'error.number_out_of_range' has an unmatched '{' or '}'"])
locale_case("unused_text", "en", "q:\n", "q:\n  old_question: \"Do you still run?\"  # <<<\n",
            ["{0} warning text 'q.old_question' is not used by any dialog|remove it"])
DIALOG = "docs/example/dialogs/contoh.yaml"
USES_Q_AGE = next(i + 1 for i, l in enumerate((root / DIALOG).read_text().splitlines())
                  if l.strip() == "text: q.age")

locale_case("text_missing_in_one_language", "en",
            '  age: "How old are you? Just type the number, for example 34."\n', "",
            [f"{DIALOG}:{USES_Q_AGE} error text 'q.age' is missing in "
             "tests/broken/text_missing_in_one_language/locales/en.yaml"],
            why="q.age was removed from en.yaml only; the dialog line that uses it is reported")
locale_case("text_not_text", "en",
            '  age: "How old are you? Just type the number, for example 34."',
            '  age: [How old, are you]  # <<<',
            ["{0} error text 'q.age' should be text, got a list|put the text in quotes",
             f"{DIALOG}:{USES_Q_AGE} error text 'q.age' is missing in "
             "tests/broken/text_not_text/locales/en.yaml"])
LONG_TEXT = "Please type a number between {min} and {max}. " + "This sentence only makes it long. " * 20
locale_case("text_long_for_a_phone", "en",
            '  number_out_of_range: "Please type a number between {min} and {max}."',
            f'  number_out_of_range: "{LONG_TEXT.strip()}"  # <<<',
            [f"{{0}} warning text 'error.number_out_of_range' has {len(LONG_TEXT.strip())} "
             "characters, long for a phone (aim for 700)|split it into two texts"])


# --- check-in cases (issue 18): contoh offers a check-in that copies its questions ---------
# Each case holds both dialogs: contoh.yaml with `followup:`, and contoh_checkin.yaml with one
# targeted edit. The copies must stay equal to contoh's (bot/content/followup_checks.py).

CHECKIN = """id: contoh_checkin
version: 1
title: contoh.title
follows: contoh
start: chest_pain
screening: [chest_pain]
texts:
  disclaimer: common.disclaimer
  safety_net: common.safety_net
  no_clear_cause: common.no_clear_cause

nodes:
  - id: chest_pain
    type: yesno
    text: q.chest_pain
    next: where

  - id: where
    type: multi
    text: q.where
    options:
      - {id: top_of_foot, text: opt.top_of_foot}
      - {id: sole, text: opt.sole}
      - {id: none, text: opt.none, exclusive: true}
    next: result

  - id: result
    type: outcome
    text: out.result

red_flags:
  - id: rf_chest_pain
    when: {chest_pain: "yes"}
    level: emergency
    title: rf.chest_pain.title
    advice: rf.chest_pain.advice
    stop_at: result
"""
OFFER = "followup: {dialog: contoh_checkin, days: {soon: 3, self_care: 3}}\n"


def checkin_case(name, edits, expect, why="", offer=True):
    text = CHECKIN
    for old, new in edits:
        assert text.count(old) == 1, (name, old)
        text = text.replace(old, new)
    lines = text.splitlines()
    marked = [i for i, l in enumerate(lines) if "<<<" in l]
    assert marked, name
    header = ([f"# {why}"] if why else []) + [f"# expect: {e}" for e in expect]
    header = [h.replace("{0}", str(marked[0] + 1 + len(header))) for h in header]
    out = [l.replace("  # <<<", "") for l in lines]
    folder = root / "tests/broken" / name / "dialogs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contoh.yaml").write_text(body + (OFFER if offer else ""))
    (folder / "contoh_checkin.yaml").write_text("\n".join(header + out) + "\n")


checkin_case("checkin_drifted_question",
             [("      - {id: sole, text: opt.sole}", "      - {id: heel, text: opt.sole}  # <<<")],
             ["{0} error node 'where' is a copy from 'contoh' but differs in 'options[2].id': "
              "'heel' here, 'sole' at|make it equal to the original again"],
             why="an option of a copied question was renamed in the check-in only")
checkin_case("checkin_edited_flag",
             [("    level: emergency\n", "    level: urgent  # <<<\n")],
             ["{0} error red flag 'rf_chest_pain' is a copy from 'contoh' but differs in "
              "'level': 'urgent' here, 'emergency' at|only 'stop_at' may differ"],
             why="the check-in's copy of a red flag was made less urgent")
checkin_case("checkin_missing_screening",
             [("follows: contoh\nstart: chest_pain\nscreening: [chest_pain]\n",
               "follows: contoh  # <<<\nstart: where\n"),
              ("  - id: chest_pain\n    type: yesno\n    text: q.chest_pain\n    next: where\n\n",
               ""),
              ("\nred_flags:\n  - id: rf_chest_pain\n    when: {chest_pain: \"yes\"}\n"
               "    level: emergency\n    title: rf.chest_pain.title\n"
               "    advice: rf.chest_pain.advice\n    stop_at: result\n", "")],
             ["{0} error the check-in does not ask 'chest_pain', a screening question of "
              "'contoh'|copy node 'chest_pain' from"],
             why="the check-in left out the red-flag screening question")
checkin_case("checkin_not_offered", [("follows: contoh\n", "follows: contoh  # <<<\n")],
             ["{0} error 'contoh' does not offer this check-in|add 'followup: {dialog: "
              "contoh_checkin"], why="contoh has no 'followup:' naming this check-in",
             offer=False)
