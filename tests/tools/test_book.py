"""`kebas book`: the printable review book a clinician signs off.

The book is read back as a browser would (an HTML tree, entities decoded), so the tests check
what a reviewer sees: every text of the locale, both languages in one row, the version and the
proof verdict on the cover, one card per question, red flag, cause and outcome, and a book that
headless Chromium prints to a PDF of several pages.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from bot.cli import review
from bot.cli.main import main as kebas
from bot.content.loader import load_bundle
from bot.core import engine, graph, proofs
from bot.core.inputs import ChooseMany
from bot.core.model import InfoNode, OutcomeNode, TriageLevel, is_question
from bot.tools import book

from support.bookpage import El, cards, main_cards, parse, shown_texts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_LOCALES = ROOT / "docs" / "example" / "locales"
UNSAFE = ROOT / "tests" / "data" / "unsafe"
TODAY = date(2025, 11, 25)


# --- making the book ------------------------------------------------------------------------


def make_book(bundle, languages=("id",), report=None, picture=None, dialog=None,
              checkin=True):
    """The book as `kebas book` writes it: with the check-in the dialog offers, if any."""
    dialog = dialog or bundle.dialog()
    locales = [bundle.locales[language] for language in languages]
    follow_up = book.checkin_of(bundle, dialog, locales[0]) if checkin else None
    if follow_up is not None and picture is None:  # no picture for either, as without dot
        follow_up = replace(follow_up, picture=None)
    return book.book_html(dialog, locales, report or proofs.prove(dialog), picture, TODAY,
                          bundle.content_hash, follow_up)


@pytest.fixture(scope="module")
def indonesian(shipped):
    return parse(make_book(shipped))


@pytest.fixture(scope="module")
def bilingual(shipped):
    return parse(make_book(shipped, ("id", "en")))


# --- what the reviewer reads ----------------------------------------------------------------


def test_every_indonesian_text_is_in_the_book(shipped, indonesian):
    locale = shipped.locales["id"]
    shown = shown_texts(indonesian)
    for key in locale.texts:
        assert [("id", locale.text(key))] in shown.get(key, []), f"'{key}' is not in the book"


def test_texts_show_the_emergency_number_filled_in_and_run_time_marks_as_they_are(
        shipped, indonesian):
    locale = shipped.locales["id"]
    shown = shown_texts(indonesian)
    safety_net = shown["common.safety_net"][0][0][1]
    assert locale.texts["vars.emergency"] in safety_net and "{emergency}" not in safety_net
    assert "{emergency}" not in indonesian.text()
    assert shown["error.number_out_of_range"][0][0][1] == locale.texts["error.number_out_of_range"]
    assert "{min}" in shown["error.number_out_of_range"][0][0][1], "Kebas fills {min} at run time"


def test_with_two_languages_every_text_sits_beside_its_translation(shipped, bilingual):
    indonesian, english = shipped.locales["id"], shipped.locales["en"]
    shown = shown_texts(bilingual)
    for key in set(indonesian.texts) | set(english.texts):
        row = [("id", indonesian.text(key)), ("en", english.text(key))]
        assert row in shown.get(key, []), f"'{key}' is not shown in Indonesian | English"
    assert "Kiri: Bahasa Indonesia. Kanan: English." in bilingual.text()


def test_the_cover_shows_version_hash_proof_verdict_and_path_count(shipped, indonesian):
    dialog = shipped.dialog()
    report = proofs.prove(dialog)
    assert indonesian.find("dialog-id").text() == dialog.id
    assert indonesian.find("dialog-version").text() == str(dialog.version)
    assert indonesian.find("dialog-hash").text() == dialog.content_hash
    assert indonesian.find("generated").text() == "2025-11-25"
    assert indonesian.find("verdict").text() == "LULUS (holds)"
    assert indonesian.find("path-count").text() == f"{report.paths:,}".replace(",", ".")
    proof_text = indonesian.find("proofs").text()
    assert f"Jalur terpanjang: {report.longest_questions} pertanyaan" in proof_text
    assert indonesian.find("content-hash").text() == shipped.content_hash
    signoff = indonesian.find("signoff").text()
    for line in ("Nama peninjau", "Tanggal", "Tanda tangan", shipped.content_hash,
                 "kebas signoff"):
        assert line in signoff, "the reviewer signs the hash of all the content"


def test_one_card_per_question_message_red_flag_cause_and_outcome(shipped, indonesian):
    dialog = shipped.dialog()
    expected = Counter(
        [("question", f"n-{n.id}") for n in dialog.nodes if is_question(n)]
        + [("info", f"n-{n.id}") for n in dialog.nodes if isinstance(n, InfoNode)]
        + [("outcome", f"out-{n.id}") for n in dialog.nodes if isinstance(n, OutcomeNode)]
        + [("red_flag", f"rf-{f.id}") for f in dialog.red_flags]
        + [("cause", f"cause-{c.id}") for c in dialog.causes])
    assert main_cards(indonesian) == expected
    screening = [el.attrs["id"] for el in indonesian.find("screening").iter()
                 if "data-card" in el.attrs]
    assert screening == [f"n-{node_id}" for node_id in dialog.screening]


def test_red_flags_show_their_level_in_words_and_their_advice(shipped, indonesian):
    locale = shipped.locales["id"]
    for flag in shipped.dialog().red_flags:
        card = indonesian.find(f"rf-{flag.id}")
        level = next(el for el in card.iter() if f"level-{flag.level.value}" in el.classes)
        assert locale.text(f"triage.{flag.level.value}.title") in level.text()
        assert locale.text(flag.advice) in card.text()
        if flag.stop_at:
            assert flag.stop_at in card.text()


def test_options_say_where_they_lead_and_which_red_flags_use_them(shipped):
    dialog = shipped.dialog()
    context = book.book_context(dialog, [shipped.locales["id"]], proofs.prove(dialog), None,
                                TODAY)
    nodes = {card.id: card for card in context["screening"] + context["questions"]}
    chest = next(o for o in nodes["a12_alarm"].options if o.id == "chest")
    assert chest.leads_to == "end_emergency"
    assert [flag.id for flag in chest.flags] == ["rf_chest_pain"]
    laces = next(o for o in nodes["b3_relief"].options if o.id == "loosen_laces")
    assert laces.leads_to == "c1_pain", "the branch for this answer"


def test_nodes_come_in_the_order_of_the_flow(shipped, dialog):
    for checked in (shipped.dialog(), dialog):
        order = [node.id for node in book.reading_order(checked)]
        assert sorted(order) == sorted(node.id for node in checked.nodes)
        assert order[0] == checked.start
        for source, targets in graph.edges(checked).items():
            for target in targets:
                assert order.index(source) < order.index(target), f"{source} -> {target}"


@pytest.mark.parametrize("name", sorted(path.name for path in UNSAFE.glob("*.yaml")))
def test_an_unsafe_dialog_shows_fail_and_every_violation(name):
    bundle = load_bundle([UNSAFE / name, EXAMPLE_LOCALES])
    dialog = bundle.dialogs[0].dialog
    report = proofs.prove(dialog)
    assert not report.holds
    root = parse(make_book(bundle, report=report, dialog=dialog))
    assert root.find("verdict").text() == "GAGAL (FAIL)"
    proof_text = root.find("proofs").text()
    for violation in report.violations:
        assert f"aturan {violation.prop}: {violation.message}" in proof_text
        assert violation.scenario() in proof_text, "the scenario to paste"


def test_without_graphviz_the_book_says_how_to_install_it(shipped, indonesian):
    assert not any(el.tag == "svg" for el in indonesian.iter())
    assert "sudo apt-get install graphviz" in indonesian.find("no-picture").text()
    assert "sudo apt-get install graphviz" in indonesian.find("checkin-no-picture").text()


def test_the_flow_picture_is_inline_svg(shipped):
    root = parse(make_book(shipped, picture='<svg xmlns="http://www.w3.org/2000/svg">'
                                           '<title>dialog</title></svg>'))
    svg = [el for el in root.find("flow").iter() if el.tag == "svg"]
    assert len(svg) == 1 and svg[0].text() == "dialog"


# --- the check-in ---------------------------------------------------------------------------


def _copy_content(tmp_path: Path, edit: dict[str, tuple[str, str]]) -> Path:
    """dialogs/ and locales/ copied to tmp_path, with `old` replaced by `new` in each named
    dialog file (each must occur once)."""
    shutil.copytree(ROOT / "dialogs", tmp_path / "dialogs")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    for name, (old, new) in edit.items():
        path = tmp_path / "dialogs" / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path


def _offers(root: El) -> dict[str, str]:
    """level id -> what the check-in section says about it."""
    return {el.attrs["data-level"]: " ".join(el.children[1].text().split())
            for el in root.find("checkin").iter() if "offer" in el.classes}


def test_the_checkin_follows_the_main_dialog_with_its_questions_flags_endings_and_proof(
        shipped, bilingual):
    main, checkin = shipped.dialog(), shipped.checkin_for(shipped.dialog())
    indonesian, english = shipped.locales["id"], shipped.locales["en"]
    section = bilingual.find("checkin")
    assert section is not None
    order = [el.attrs.get("id") for el in bilingual.iter() if el.tag == "section"]
    assert order.index("outcomes") < order.index("checkin") < order.index("appendix")
    assert bilingual.find("checkin-id").text() == checkin.id
    assert bilingual.find("checkin-version").text() == str(checkin.version)
    assert bilingual.find("checkin-hash").text() == checkin.content_hash

    expected = Counter(
        [("question", f"checkin-n-{n.id}") for n in checkin.nodes if is_question(n)]
        + [("info", f"checkin-n-{n.id}") for n in checkin.nodes if isinstance(n, InfoNode)]
        + [("outcome", f"checkin-out-{n.id}") for n in checkin.nodes
           if isinstance(n, OutcomeNode)]
        + [("red_flag", f"checkin-rf-{f.id}") for f in checkin.red_flags])
    assert cards(section) == expected
    how = bilingual.find("checkin-n-ci_how").text()
    for key in ("q.ci_how", "opt.ci_how.better", "opt.ci_how.danger"):
        assert indonesian.text(key) in how and english.text(key) in how
    for node in checkin.nodes:
        if isinstance(node, OutcomeNode):
            card = bilingual.find(f"checkin-out-{node.id}")
            assert indonesian.text(node.text) in card.text()
            level = next(el for el in card.iter() if f"level-{node.level.value}" in el.classes)
            assert indonesian.text(f"triage.{node.level.value}.title") in level.text()

    originals = {flag.id for flag in main.red_flags}
    for flag in checkin.red_flags:
        card = bilingual.find(f"checkin-rf-{flag.id}")
        assert english.text(flag.advice) in card.text()
        badge = [el for el in card.iter() if "copy" in el.classes]
        if flag.id in originals:
            assert [el.text() for el in badge] == ["salinan dari kaki_kebas"]
            assert badge[0].attrs["href"] == f"#rf-{flag.id}", "to the original's card"
        else:
            assert badge == [], f"{flag.id} is the check-in's own"
    own = bilingual.find("checkin-rf-ci_compartment_acute").text()
    assert "Judul dan saran sama dengan tanda bahaya kaki_kebas: rf_compartment_acute" in own
    assert "kebas check" in section.text() and "salinan" in section.text()

    report = proofs.prove(checkin)
    assert report.holds
    assert bilingual.find("checkin-verdict").text() == "LULUS (holds)"
    assert bilingual.find("checkin-path-count").text() == f"{report.paths:,}".replace(",", ".")
    assert bilingual.find("cover-checkin-verdict").text() == "LULUS (holds)"
    ids = [el.attrs["id"] for el in bilingual.iter() if "id" in el.attrs]
    links = {el.attrs["href"][1:] for el in bilingual.iter()
             if (el.attrs.get("href") or "").startswith("#")}
    assert len(ids) == len(set(ids)) and links <= set(ids), "every link lands on one anchor"
    assert {"checkin-offer", "checkin-proofs", "checkin-red-flags"} <= links, "in the contents"


def test_the_checkin_is_shown_in_english_too(shipped):
    root = parse(make_book(shipped, ("en", "id")))
    assert root.find("checkin").children[1].text() == "Follow-up check-in"
    assert _offers(root) == {"emergency": "not offered", "urgent": "not offered",
                             "soon": "asked again after 3 days",
                             "self_care": "asked again after 3 days"}
    assert "copy from kaki_kebas" in root.find("checkin-rf-rf_pe").text()
    assert root.find("checkin-verdict").text() == "HOLDS"
    assert "covers both dialogs" in root.find("signoff-both").text()


def test_the_offer_names_the_days_and_levels_of_the_main_dialogs_followup(shipped, bilingual,
                                                                            tmp_path):
    assert _offers(bilingual) == {"emergency": "tidak ditawarkan", "urgent": "tidak ditawarkan",
                                  "soon": "ditanyakan lagi setelah 3 hari",
                                  "self_care": "ditanyakan lagi setelah 3 hari"}
    edited = _copy_content(tmp_path, {"kaki_kebas.yaml": (
        "days: {soon: 3, self_care: 3}", "days: {soon: 5, self_care: 1}")})
    root = parse(make_book(load_bundle([edited / "dialogs", edited / "locales"])))
    assert _offers(root) == {"emergency": "tidak ditawarkan", "urgent": "tidak ditawarkan",
                             "soon": "ditanyakan lagi setelah 5 hari",
                             "self_care": "ditanyakan lagi setelah 1 hari"}
    edited = _copy_content(tmp_path / "soon", {"kaki_kebas.yaml": (
        "days: {soon: 3, self_care: 3}", "days: {soon: 7}")})
    root = parse(make_book(load_bundle([edited / "dialogs", edited / "locales"]), ("en",)))
    assert _offers(root)["soon"] == "asked again after 7 days"
    assert _offers(root)["self_care"] == "not offered"


def test_the_main_dialogs_sections_are_the_same_with_the_checkin(shipped, bilingual):
    without = parse(make_book(shipped, ("id", "en"), checkin=False))
    assert without.find("checkin") is None and "signoff-both" not in repr(without)
    for section in ("flow", "screening", "questions", "red-flags", "causes", "outcomes",
                    "proofs"):
        assert repr(bilingual.find(section)) == repr(without.find(section)), section
    assert main_cards(bilingual) == cards(without)


def test_the_summary_layout_shows_each_line_its_questions_terms_the_rule_and_a_sample(
        shipped, bilingual):
    dialog, part = shipped.dialog(), bilingual.find("summary")
    assert [el.attrs["data-line"] for el in part.iter() if "data-line" in el.attrs] == \
        [line.id for line in dialog.summary]
    shown = shown_texts(part)
    assert shown["summary.field.location"] == [[("id", "Lokasi"), ("en", "Location")]]
    location = part.find("sl-location")
    assert [el.attrs["data-option"] for el in location.iter() if "data-option" in el.attrs] \
        == [option.id for option in dialog.node("d1_where").options]
    assert shown["clin.d1_where.top_of_foot"][0][0] == ("id", "dorsum pedis")
    assert "tidak ditanyakan" in part.find("sl-sex").text(), "a line with no question"
    for key in ("summary.not_yet", "summary.not_asked", "summary.incomplete"):
        assert key in shown, key
    sample = part.find("summary-sample-text").text()
    assert sample.startswith("RINGKASAN UNTUK DOKTER\nTanggal: 2026-05-12 14:05 WIB")
    for label in ("Usia: ", "Jenis kelamin: tidak ditanyakan", "TRIASE", "Dialog kaki_kebas"):
        assert label in sample, label
    assert bilingual.find("toc").text().count("Ringkasan untuk dokter") == 1


def test_the_signoff_covers_both_dialogs(shipped, bilingual, tmp_path):
    main, checkin = shipped.dialog(), shipped.checkin_for(shipped.dialog())
    both = bilingual.find("signoff-both").text()
    assert (f"kedua dialog: {main.id} versi {main.version} dan tanya ulangnya {checkin.id} "
            f"versi {checkin.version}") in both
    assert shipped.content_hash in both
    context = book.book_context(main, [shipped.locales["id"], shipped.locales["en"]],
                                proofs.prove(main), None, TODAY, None,
                                book.checkin_of(shipped, main, shipped.locales["id"]))
    assert context["dialog"]["content"] == shipped.content_hash, "both dialogs, every text"
    edited = _copy_content(tmp_path, {"kaki_kebas_checkin.yaml": (
        "      - {id: better, text: opt.ci_how.better}",
        "      - {id: better, text: opt.ci_how.same}")})
    changed = load_bundle([edited / "dialogs", edited / "locales"])
    assert changed.dialog().content_hash == main.content_hash
    assert changed.content_hash != shipped.content_hash, "an edit of the check-in alone"
    assert changed.content_hash in parse(make_book(changed)).find("signoff").text()


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_kebas_book_writes_the_file(in_root, tmp_path, capsys):
    out = tmp_path / "book.html"
    assert kebas(["book", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    root = parse(out.read_text(encoding="utf-8"))
    assert root.find("verdict").text() == "LULUS (holds)"
    if shutil.which("dot"):
        assert any(el.tag == "svg" for el in root.find("flow").iter())


def test_kebas_book_shows_the_checkin(in_root, tmp_path):
    out = tmp_path / "book.html"
    assert kebas(["book", "--lang", "id,en", "-o", str(out)]) == 0
    root = parse(out.read_text(encoding="utf-8"))
    assert root.find("checkin-verdict").text() == "LULUS (holds)"
    assert "kaki_kebas_checkin" in root.find("signoff-both").text()


def test_kebas_book_writes_to_standard_output(in_root, capsys):
    assert kebas(["book", "--lang", "en", "-o", "-"]) == 0
    html = capsys.readouterr().out
    assert html.startswith("<!DOCTYPE html>") and "wrote" not in html
    assert parse(html).find("verdict").text() == "HOLDS"


def test_without_graphviz_kebas_book_still_writes_and_says_so(in_root, tmp_path, capsys,
                                                               monkeypatch):
    from bot.tools import flowchart

    def missing(_flow, _format):
        raise flowchart.GraphvizMissing("no dot")
    monkeypatch.setattr(flowchart, "render", missing)
    out = tmp_path / "book.html"
    assert kebas(["book", "-o", str(out)]) == 0
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert "sudo apt-get install graphviz" in parse(out.read_text(encoding="utf-8")).text()


@pytest.mark.parametrize("value, message", [
    ("fr", "there is no locale 'fr'"), ("id,en,id", "at most 2 languages"),
    ("id,en,fr", "at most 2 languages"), ("id,id", "named twice"), ("id,", "one or two"),
    ("", "one or two"), ("id;en", "not a language code")])
def test_a_bad_lang_is_refused_with_a_message(in_root, tmp_path, capsys, value, message):
    out = tmp_path / "book.html"
    assert kebas(["book", "--lang", value, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kebas: ") and message in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("case", ["unknown_transition", "yaml_syntax"])
def test_a_broken_dialog_is_refused(in_root, tmp_path, capsys, case):
    out = tmp_path / "book.html"
    dialogs = ROOT / "tests" / "broken" / case / "dialogs"
    assert kebas(["book", "-o", str(out), str(dialogs), str(EXAMPLE_LOCALES)]) == 1
    assert "fix them first" in capsys.readouterr().err
    assert not out.exists()


def test_an_unwritable_output_is_a_message_not_a_traceback(in_root, tmp_path, capsys):
    out = tmp_path / "no such folder" / "book.html"
    assert kebas(["book", "-o", str(out)]) == 1
    err = capsys.readouterr().err  # (after a note when Graphviz is missing)
    assert err.splitlines()[-1].startswith(f"kebas: cannot write {out}")
    assert "Traceback" not in err


def test_parse_languages():
    assert review.parse_languages("id") == ["id"]
    assert review.parse_languages(" ID , en ") == ["id", "en"]


# --- headless Chromium --------------------------------------------------------------------

CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium for at most 60 s; on time-out its whole process group is killed."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"headless Chromium did not finish within 60 s: {' '.join(command)}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (.ci/run installs it)")
def test_headless_chromium_prints_the_book(in_root, tmp_path, shipped):
    out = tmp_path / "kebas-book.html"
    dialog = shipped.dialog()
    picture = book.flow_picture(dialog, shipped.locales["id"])
    out.write_text(make_book(shipped, ("id", "en"), picture=picture), encoding="utf-8")
    pdf = tmp_path / "book.pdf"
    printed = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                       out.as_uri())
    assert pdf.exists(), printed.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    assert pages >= 20, f"only {pages} pages"

    dumped = chromium(tmp_path, "--dump-dom", out.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = parse(dumped.stdout)
    for section in ("cover", "proofs", "signoff", "toc", "flow", "screening", "questions",
                    "red-flags", "causes", "outcomes", "checkin", "checkin-proofs",
                    "checkin-offer", "signoff-both", "appendix"):
        assert dom.find(section) is not None, section
    pictures = [el for el in dom.iter() if el.tag == "svg"]
    if shutil.which("dot"):
        assert len(pictures) == 2, "the flow pictures of the dialog and of its check-in"
        ids = [el.attrs["id"] for el in dom.iter() if "id" in el.attrs]
        assert len(ids) == len(set(ids)), "no anchor in the page is there twice"
    else:
        assert dom.find("no-picture") is not None and dom.find("checkin-no-picture") is not None
    checkin = shipped.checkin_for(dialog)
    assert sum(main_cards(dom).values()) == (len(dialog.nodes) + len(dialog.red_flags)
                                             + len(dialog.causes))
    assert sum(cards(dom.find("checkin")).values()) == (len(checkin.nodes)
                                                        + len(checkin.red_flags))
    assert dom.find("checkin-verdict").text() == "LULUS (holds)"


def test_an_option_that_stops_at_two_endings_leads_where_the_engine_goes(shipped):
    """The engine ends at the most urgent stopping red flag among those that fire; the book
    took the first listed. An urgent one listed first must not hide the emergency ending."""
    dialog = shipped.dialog()
    chest_flag = next(flag for flag in dialog.red_flags if flag.id == "rf_chest_pain")
    also = chest_flag.model_copy(update={"id": "rf_chest_urgent", "level": TriageLevel.URGENT,
                                         "stop_at": "end_result"})
    variant = dialog.model_copy(update={"red_flags": [also, *dialog.red_flags]})
    context = book.book_context(variant, [shipped.locales["id"]], proofs.prove(variant), None,
                                TODAY)
    alarm = next(card for card in context["screening"] if card.id == "a12_alarm")
    chest = next(option for option in alarm.options if option.id == "chest")
    step = engine.step(variant, engine.start(variant).state, ChooseMany(("chest",)))
    assert step.outcome is not None and step.outcome.node_id == "end_emergency"
    assert chest.leads_to == "end_emergency"
