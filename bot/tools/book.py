"""`kebas book`: the whole dialog as a printable HTML book for clinical sign-off.

Every question with its options, every red flag, cause and outcome, every text of the locale, in
one or two languages side by side, with the flow picture, the dialog version and the result of
the safety proofs. `book_context` gathers it (pure: dialog, locales and proof report in, plain
data out) and `render_book` fills `templates/book.html.j2`; only `main` reads and writes files.

Texts are shown as the runner reads them: `{emergency}` and the other `vars.*` are filled in,
while placeholders that Kebas fills at run time (`{min}`, `{title}`, ...) stay visible.
"""

from __future__ import annotations

import argparse
import heapq
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bot.content import signoff
from bot.core import graph, proofs
from bot.core.conditions import describe, fact_tests, facts_read, holds, test_values
from bot.core.i18n import LANGUAGE_NAMES, UI_TEXTS, Locale
from bot.core.model import (
    Condition,
    Dialog,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    Range,
    TriageLevel,
    is_question,
    options_of,
)

MAX_LANGUAGES = 2
LEVELS = (TriageLevel.EMERGENCY, TriageLevel.URGENT, TriageLevel.SOON, TriageLevel.SELF_CARE)

# The book's own words (headings, labels), in the first language of the book.
CHROME: dict[str, dict[str, str]] = {
    "id": {
        "book": "Buku tinjauan klinis",
        "dialog": "Dialog", "version": "Versi", "hash": "Sidik dialog (hash)",
        "content_hash": "Sidik seluruh isi yang ditinjau (dialog dan semua teks)",
        "generated": "Dibuat", "languages": "Bahasa", "toc": "Daftar isi",
        "how_to_read": "Cara membaca",
        "reading": "Buku ini memuat seluruh isi dialog seperti yang dibaca pelari: setiap "
                   "pertanyaan dengan pilihannya, setiap tanda bahaya, kemungkinan penyebab dan "
                   "hasil, lalu semua teks lain di lampiran. Kode kecil abu-abu (misalnya "
                   "q.a3_saddle) adalah kunci teks di locales/ atau id di dialogs/. Nilai dari "
                   "vars (misalnya nomor darurat) sudah diisikan; tanda seperti {min} atau "
                   "{title} diisi Kebas saat dipakai. Di tabel pilihan, kolom tanda bahaya dan "
                   "poin menyebut aturan yang syaratnya memakai jawaban itu (mungkin bersama "
                   "jawaban lain); \"lanjut ke\" menyebut pertanyaan atau hasil berikutnya.",
        "two_columns": "Kiri: {first}. Kanan: {second}.",
        "proofs": "Bukti keamanan (aturan a–e)",
        "holds": "LULUS (holds)", "fail": "GAGAL (FAIL)",
        "paths": "jalur jawaban berbeda diperiksa",
        "states": "keadaan ditelusuri",
        "longest": "Jalur terpanjang: {count} pertanyaan",
        "no_paths": "Jumlah jalur tidak dihitung karena ada pelanggaran.",
        "rules": "Aturan yang dibuktikan pada setiap jalur jawaban:",
        "rule_a": "setiap jalur berakhir di hasil dan tidak menanyakan hal yang sama dua kali;",
        "rule_b": "saran tanda bahaya muncul tepat pada jawaban yang memicunya, dan hasil akhir "
                  "setidaknya sesegera tanda bahaya itu;",
        "rule_c": "tingkat kesegeraan tidak pernah turun;",
        "rule_d": "setiap hasil memuat penafian dan \"kapan harus segera mencari pertolongan\";",
        "rule_e": "pertanyaan skrining tanda bahaya selalu ditanyakan lebih dulu.",
        "no_screening": "Dialog ini tidak menyebut pertanyaan skrining (screening:), jadi aturan "
                        "e tidak dibuktikan.",
        "violations": "Pelanggaran",
        "rule": "aturan", "scenario": "Jawaban terpendek yang mencapainya (skenario):",
        "signoff": "Persetujuan klinis",
        "signoff_intro": "Saya telah meninjau seluruh isi buku ini (dialog {dialog} versi "
                         "{version}, sidik isi {hash}).",
        "reviewer": "Nama peninjau", "registration": "No. STR / SIP", "date": "Tanggal",
        "signature": "Tanda tangan", "decision": "Keputusan",
        "approved": "Disetujui", "approved_notes": "Disetujui dengan catatan",
        "rejected": "Belum disetujui", "notes": "Catatan",
        "after_signoff": "Setelah disetujui, pengelola menjalankan: kebas signoff --reviewer "
                         "\"NAMA\" --registration \"STR/SIP\" (untuk sidik isi {hash}). "
                         "Pelari melihat \"ditinjau oleh ...\" hanya selama isinya sama persis; "
                         "setiap perubahan teks atau alur membuatnya kembali berstatus draf.",
        "flow": "Gambar alur",
        "flow_intro": "Digambar dari YAML (sama dengan kebas graph). Merah: jalan keluar tanda "
                      "bahaya ke hasil darurat. Untuk memperbesar, buka file HTML ini di layar.",
        "no_graphviz": "Gambar alur tidak ada karena program Graphviz (dot) belum terpasang. "
                       "Pasang dengan: sudo apt-get install graphviz, "
                       "lalu jalankan kebas book lagi.",
        "screening": "Skrining tanda bahaya",
        "screening_intro": "Pertanyaan skrining: dibuktikan selalu ditanyakan lebih dulu.",
        "questions": "Pertanyaan dan pesan",
        "questions_intro": "Urutan mengikuti alur dari awal dialog.",
        "red_flags": "Tanda bahaya",
        "red_flags_intro": "Setiap tanda bahaya muncul seketika saat jawaban membuat syaratnya "
                           "benar, dan tidak pernah dibatalkan oleh jawaban berikutnya.",
        "causes": "Kemungkinan penyebab",
        "causes_intro": "Penyebab ditampilkan bila poinnya minimal {min_points}, paling banyak "
                        "{max_shown}, yang poinnya tertinggi lebih dulu.",
        "causes_lead": "Hanya penyebab teratas yang unggul minimal {lead} poin yang ditampilkan; "
                       "bila tidak ada yang unggul, {max_shown} teratas ditampilkan bersama "
                       "teks \"beberapa kemungkinan penyebab\".",
        "outcomes": "Hasil akhir",
        "outcomes_intro": "Tingkat saran akhir = yang paling segera dari: batas bawah hasil, "
                          "tanda bahaya yang muncul, dan penyebab yang ditampilkan.",
        "levels": "Tingkat saran (triase)",
        "dialog_texts": "Teks di setiap hasil",
        "appendix": "Lampiran: semua teks lain",
        "appendix_intro": "Teks yang ditampilkan Kebas sendiri (persetujuan, pesan salah, "
                          "perintah, ...) dan teks lain di file bahasa yang belum muncul di atas.",
        "type_choice": "pilih satu", "type_multi": "pilih beberapa", "type_yesno": "ya / tidak",
        "type_number": "angka", "type_info": "pesan", "type_outcome": "hasil",
        "screening_badge": "skrining",
        "unreachable": "tidak bisa dicapai dari awal dialog",
        "answer": "Jawaban", "sets": "Mengisi", "leads_to": "Lanjut ke",
        "flags_used": "Tanda bahaya terkait", "points": "Poin penyebab",
        "depends": "tergantung jawaban lain",
        "exclusive": "tidak bisa digabung dengan pilihan lain",
        "number_range": "Angka dari {min} sampai {max}",
        "whole": "bilangan bulat", "decimal": "boleh desimal", "unit": "Satuan",
        "routes": "Alur", "if": "jika", "otherwise": "selain itu", "then": "lanjut ke",
        "can_fire": "Tanda bahaya yang bisa dipicu di sini",
        "stop": "berhenti di", "goes_on": "pertanyaan berlanjut",
        "note": "Catatan pengelola (tidak ditampilkan ke pelari)",
        "level": "Tingkat", "condition": "Syarat", "meaning": "Arti jawaban dalam syarat",
        "helper_fact": "fakta bantu, diisi oleh", "title": "Judul", "advice": "Saran",
        "asked_in": "Ditanyakan di",
        "explain": "Penjelasan", "todo": "Yang bisa dilakukan",
        "level_if": "Tingkat lain bila", "score": "Aturan poin",
        "floor": "Tingkat minimal", "show_causes": "Menampilkan penyebab",
        "yes": "ya", "no": "tidak", "reached_from": "Dicapai dari",
        "role_disclaimer": "Penafian, di bawah setiap hasil",
        "role_safety_net": "Kapan harus segera mencari pertolongan, di bawah setiap hasil yang "
                           "bukan darurat",
        "role_no_clear_cause": "Bila tidak ada penyebab yang cukup poinnya",
        "role_several_causes": "Bila tidak ada penyebab yang jelas unggul",
        "filled_by_kebas": "diisi Kebas",
        "group_other": "lainnya",
    },
    "en": {
        "book": "Clinical review book",
        "dialog": "Dialog", "version": "Version", "hash": "Dialog hash",
        "content_hash": "Hash of all the content reviewed (dialog and every text)",
        "generated": "Generated", "languages": "Languages", "toc": "Contents",
        "how_to_read": "How to read this book",
        "reading": "This book holds the whole dialog as a runner reads it: every question with "
                   "its options, every red flag, likely cause and outcome, and every other text "
                   "in the appendix. Small grey codes (such as q.a3_saddle) are text keys in "
                   "locales/ or ids in dialogs/. Values from vars (such as the emergency "
                   "numbers) are filled in; marks such as {min} or {title} are filled by Kebas "
                   "when shown. In the option tables, the red-flag and points columns name the "
                   "rules whose condition uses that answer (perhaps together with other "
                   "answers); \"goes to\" names the next question or outcome.",
        "two_columns": "Left: {first}. Right: {second}.",
        "proofs": "Safety proofs (rules a–e)",
        "holds": "HOLDS", "fail": "FAIL",
        "paths": "distinct answer paths checked",
        "states": "states explored",
        "longest": "Longest path: {count} questions",
        "no_paths": "Paths are not counted when there is a violation.",
        "rules": "Rules proven on every answer path:",
        "rule_a": "every path ends at a result and never asks the same question twice;",
        "rule_b": "a red flag's advice is shown at the very answer that makes it true, and the "
                  "result is at least that urgent;",
        "rule_c": "urgency never goes down;",
        "rule_d": "every result has the disclaimer and \"when to seek help\";",
        "rule_e": "the red-flag screening questions come first.",
        "no_screening": "This dialog declares no screening questions (screening:), so rule e "
                        "is not proven.",
        "violations": "Violations",
        "rule": "rule", "scenario": "The shortest answers that reach it (scenario):",
        "signoff": "Clinical sign-off",
        "signoff_intro": "I have reviewed the whole of this book (dialog {dialog} version "
                         "{version}, content hash {hash}).",
        "reviewer": "Reviewer's name", "registration": "Registration no. (STR / SIP)",
        "date": "Date", "signature": "Signature", "decision": "Decision",
        "approved": "Approved", "approved_notes": "Approved with notes",
        "rejected": "Not approved", "notes": "Notes",
        "after_signoff": "Once approved, the maintainer runs: kebas signoff --reviewer \"NAME\" "
                         "--registration \"STR/SIP\" (for content hash {hash}). Runners read "
                         "\"reviewed by ...\" only while the content stays exactly the same; any "
                         "edit of a text or of the flow makes it a draft again.",
        "flow": "Flow picture",
        "flow_intro": "Drawn from the YAML (as kebas graph draws it). Red: red-flag exits to "
                      "the emergency ending. Open this HTML file on screen to zoom in.",
        "no_graphviz": "There is no flow picture because Graphviz (dot) is not installed. "
                       "Install it with: sudo apt-get install graphviz, then run kebas book again.",
        "screening": "Red-flag screening",
        "screening_intro": "Screening questions: proven to be asked first.",
        "questions": "Questions and messages",
        "questions_intro": "In the order of the flow from the start of the dialog.",
        "red_flags": "Red flags",
        "red_flags_intro": "A red flag fires the moment an answer makes its condition true, and "
                           "later answers never undo it.",
        "causes": "Likely causes",
        "causes_intro": "A cause is shown with at least {min_points} points, at most "
                        "{max_shown} of them, best first.",
        "causes_lead": "Only the top causes at least {lead} points ahead of the rest are shown; "
                       "when none is, the top {max_shown} are shown with the \"several causes\" "
                       "text.",
        "outcomes": "Outcomes",
        "outcomes_intro": "The final advice is the most urgent of: the outcome's floor, the red "
                          "flags that fired and the causes shown.",
        "levels": "Triage levels",
        "dialog_texts": "Texts on every result",
        "appendix": "Appendix: every other text",
        "appendix_intro": "Texts Kebas shows itself (consent, errors, commands, ...) and any "
                          "other text of the locale files not shown above.",
        "type_choice": "one choice", "type_multi": "several choices", "type_yesno": "yes / no",
        "type_number": "number", "type_info": "message", "type_outcome": "outcome",
        "screening_badge": "screening",
        "unreachable": "cannot be reached from the start",
        "answer": "Answer", "sets": "Sets", "leads_to": "Goes to",
        "flags_used": "Related red flags", "points": "Cause points",
        "depends": "depends on other answers",
        "exclusive": "cannot be combined with other options",
        "number_range": "A number from {min} to {max}",
        "whole": "whole number", "decimal": "decimals allowed", "unit": "Unit",
        "routes": "Flow", "if": "if", "otherwise": "otherwise", "then": "go to",
        "can_fire": "Red flags that can fire here",
        "stop": "stops at", "goes_on": "questions go on",
        "note": "Maintainers' note (never shown to runners)",
        "level": "Level", "condition": "Condition", "meaning": "Answers in the condition",
        "helper_fact": "helper fact, set by", "title": "Title", "advice": "Advice",
        "asked_in": "Asked in",
        "explain": "Explanation", "todo": "What to do",
        "level_if": "Other level when", "score": "Points rules",
        "floor": "Floor level", "show_causes": "Shows causes",
        "yes": "yes", "no": "no", "reached_from": "Reached from",
        "role_disclaimer": "Disclaimer, under every result",
        "role_safety_net": "When to seek help, under every result that is not an emergency",
        "role_no_clear_cause": "When no cause has enough points",
        "role_several_causes": "When no cause is clearly ahead",
        "filled_by_kebas": "filled by Kebas",
        "group_other": "other",
    },
}

# What each group of text keys is for, in the appendix.
GROUPS: dict[str, dict[str, str]] = {
    "id": {"vars": "Nilai yang disisipkan ke teks", "dialog": "Judul dialog",
           "unit": "Satuan", "common": "Kata dan teks umum", "error": "Pesan bila jawaban salah",
           "info": "Pemberitahuan", "outcome": "Judul di layar hasil",
           "triage": "Tingkat saran", "red_flag": "Judul tanda bahaya",
           "multi": "Pilihan ganda", "console": "Terminal (kebas chat)",
           "why": "\"Mengapa saran ini?\"", "tg": "Telegram: sambutan, persetujuan, privasi, "
           "pesan", "command": "Menu perintah Telegram",
           "msg": "Pesan yang tidak dipakai dialog ini", "out": "Hasil yang tidak dipakai",
           "q": "Pertanyaan yang tidak dipakai", "opt": "Pilihan yang tidak dipakai",
           "rf": "Tanda bahaya yang tidak dipakai", "cause": "Penyebab yang tidak dipakai",
           "stats": "Laporan pemakaian (kebas stats)"},
    "en": {"vars": "Values inserted into texts", "dialog": "Dialog title", "unit": "Units",
           "common": "Common words and texts", "error": "Messages for a wrong answer",
           "info": "Notices", "outcome": "Headings of the result", "triage": "Triage levels",
           "red_flag": "Red-flag heading", "multi": "Multiple choice",
           "console": "Terminal (kebas chat)", "why": "\"Why this advice?\"",
           "tg": "Telegram: welcome, consent, privacy, messages",
           "command": "Telegram command menu", "msg": "Messages this dialog does not use",
           "out": "Outcomes not used", "q": "Questions not used", "opt": "Options not used",
           "rf": "Red flags not used", "cause": "Causes not used",
           "stats": "Usage report (kebas stats)"},
}

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


# --- the book's data ----------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """One text key in every language of the book (one value per language, in order)."""

    key: str
    values: tuple[str, ...]
    params: tuple[str, ...] = ()   # placeholders Kebas fills in when it shows the text


@dataclass(frozen=True)
class Level:
    id: str
    label: str


@dataclass(frozen=True)
class FlagRef:
    id: str
    level: Level
    stop_at: str | None


@dataclass(frozen=True)
class OptionRow:
    id: str
    text: Text
    sets: tuple[str, ...]
    leads_to: str | None          # None: depends on other answers
    flags: tuple[FlagRef, ...]
    points: tuple[str, ...]
    exclusive: bool


@dataclass(frozen=True)
class Route:
    condition: str | None         # None: the default
    target: str


@dataclass(frozen=True)
class NodeCard:
    id: str
    type: str
    text: Text
    options: tuple[OptionRow, ...]
    number: tuple[str, str] | None   # (min, max)
    unit: Text | None
    routes: tuple[Route, ...]
    flags: tuple[FlagRef, ...]
    screening: bool
    reachable: bool
    note: str | None


@dataclass(frozen=True)
class FlagCard:
    id: str
    title: Text
    advice: Text
    level: Level
    condition: str
    meaning: tuple[str, ...]
    stop_at: str | None
    asked_in: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class CauseCard:
    id: str
    title: Text
    explain: Text
    todo: Text
    level: Level
    level_if: tuple[tuple[str, Level], ...]
    score: tuple[tuple[str, int], ...]
    meaning: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class OutcomeCard:
    id: str
    text: Text
    level: Level
    show_causes: bool
    reached_from: tuple[str, ...]
    reachable: bool
    note: str | None


@dataclass(frozen=True)
class ProofSummary:
    holds: bool
    paths: str
    states: str
    longest: int
    longest_answers: tuple[str, ...]
    screening_declared: bool
    violations: tuple[tuple[str, str, str], ...]   # (rule, message, scenario)


class _Texts:
    """Looks texts up in every language of the book and remembers which keys were shown."""

    def __init__(self, locales: Sequence[Locale]) -> None:
        self.locales = list(locales)
        self.shown: set[str] = set()

    def __call__(self, key: str) -> Text:
        self.shown.add(key)
        return Text(key, tuple(locale.text(key) for locale in self.locales),
                    tuple(sorted(UI_TEXTS.get(key, ()))))


def parse_languages(value: str) -> list[str]:
    """`id`, `en` or `id,en` as a list; ValueError with a message a person can act on."""
    languages = [part.strip().lower() for part in value.split(",")]
    if not value.strip() or any(not part for part in languages):
        raise ValueError(f"--lang '{value}': name one or two languages, e.g. id or id,en")
    if len(languages) > MAX_LANGUAGES:
        raise ValueError(f"--lang '{value}': at most {MAX_LANGUAGES} languages side by side, "
                         f"e.g. id,en")
    if len(set(languages)) != len(languages):
        raise ValueError(f"--lang '{value}': a language is named twice")
    for language in languages:
        if not _LANGUAGE.match(language):
            raise ValueError(f"--lang '{value}': '{language}' is not a language code "
                             f"(like id or en)")
    return languages


def reading_order(dialog: Dialog) -> list[Any]:
    """Nodes as a maintainer reads them: every node after the nodes that lead to it.

    Breadth-first from `start` says which comes first among nodes that are ready; a loop is
    entered at its earliest node. Nodes the start cannot reach come last, in file order.
    """
    moves = graph.edges(dialog)
    rank = {node_id: index for index, node_id in enumerate(_breadth_first(dialog.start, moves))}
    waiting = dict.fromkeys(rank, 0)
    for source in rank:
        for target in moves.get(source, []):
            waiting[target] += 1
    ready = [(rank[dialog.start], dialog.start)] if waiting[dialog.start] == 0 else []
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(rank):
        if not ready:  # a loop: enter it at its earliest node
            node_id = min((n for n in rank if n not in placed), key=rank.__getitem__)
            heapq.heappush(ready, (rank[node_id], node_id))
        _rank, node_id = heapq.heappop(ready)
        if node_id in placed:
            continue
        placed.add(node_id)
        order.append(node_id)
        for target in moves.get(node_id, []):
            waiting[target] -= 1
            if waiting[target] == 0 and target not in placed:
                heapq.heappush(ready, (rank[target], target))
    return [dialog.node(n) for n in order] + [n for n in dialog.nodes if n.id not in rank]


def _breadth_first(start: str, moves: graph.Edges) -> list[str]:
    order, index = [start], 0
    while index < len(order):
        order += [t for t in moves.get(order[index], []) if t not in order]
        index += 1
    return order


def book_context(dialog: Dialog, locales: Sequence[Locale], report: proofs.ProofReport,
                 picture: str | None, generated: date, content_hash: str | None = None
                 ) -> dict[str, Any]:
    """Everything the template shows, as plain data. `picture` is the flow as SVG text;
    `content_hash` is what a sign-off of this content names (bot.signoff; the bundle's, which
    covers every language, not only those in the book)."""
    texts = _Texts(locales)
    first = locales[0]
    chrome = CHROME.get(first.language, CHROME["en"])
    levels = {level: Level(level.value, first.text(f"triage.{level.value}.title"))
              for level in LEVELS}
    reachable = graph.reachable(dialog.start, graph.edges(dialog))
    title = texts(dialog.title)
    ordered = reading_order(dialog)
    cards = [_node_card(dialog, node, texts, levels, node.id in reachable)
             for node in ordered if not isinstance(node, OutcomeNode)]
    flags = [_flag_card(dialog, flag, texts, levels, first) for flag in dialog.red_flags]
    causes = [_cause_card(dialog, cause, texts, levels, first) for cause in dialog.causes]
    outcomes = [_outcome_card(dialog, node, texts, levels, node.id in reachable)
                for node in ordered if isinstance(node, OutcomeNode)]
    level_texts = [(levels[level], texts(f"triage.{level.value}.title"),
                    texts(f"triage.{level.value}.todo")) for level in LEVELS]
    roles = [("role_disclaimer", dialog.texts.disclaimer),
             ("role_safety_net", dialog.texts.safety_net),
             ("role_no_clear_cause", dialog.texts.no_clear_cause),
             ("role_several_causes", dialog.texts.several_causes)]
    dialog_texts = [(chrome[role], texts(key)) for role, key in roles if key]
    appendix = _appendix(locales, texts, GROUPS.get(first.language, GROUPS["en"]),
                         chrome["group_other"])
    return {
        "ui": chrome,
        "lang": first.language,
        "languages": [(locale.language, LANGUAGE_NAMES.get(locale.language, locale.language))
                      for locale in locales],
        "dialog": {"id": dialog.id, "version": dialog.version, "hash": dialog.content_hash,
                   "content": content_hash or signoff.content_hash(
                       [dialog], {locale.language: locale for locale in locales})},
        "title": title,
        "generated": generated.isoformat(),
        "proof": _proof_summary(dialog, report, first),
        "picture": Markup(picture) if picture else None,
        "screening": [card for card in cards if card.screening],
        "questions": [card for card in cards if not card.screening],
        "red_flags": flags,
        "causes": causes,
        "scoring": dialog.scoring,
        "outcomes": outcomes,
        "outcome_ids": [card.id for card in outcomes],
        "levels": level_texts,
        "dialog_texts": dialog_texts,
        "appendix": appendix,
    }


def render_book(context: dict[str, Any]) -> str:
    environment = Environment(loader=PackageLoader("bot.tools", "templates"), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("book.html.j2").render(context)


def book_html(dialog: Dialog, locales: Sequence[Locale], report: proofs.ProofReport,
              picture: str | None, generated: date, content_hash: str | None = None) -> str:
    return render_book(book_context(dialog, locales, report, picture, generated, content_hash))


# --- cards ----------------------------------------------------------------------------------


def _node_card(dialog: Dialog, node: Any, texts: _Texts, levels: dict[TriageLevel, Level],
               reachable: bool) -> NodeCard:
    settable = graph.facts_set_by(node)
    flags = [flag for flag in dialog.red_flags if facts_read(flag.when) & settable]
    options = tuple(_option_row(dialog, node, option, flags, texts, levels)
                    for option in options_of(node))
    number = unit = None
    if isinstance(node, NumberQuestion):
        number = (_number(node.min), _number(node.max))
        unit = texts(node.unit) if node.unit else None
    routes = tuple(Route(describe(branch.when), branch.next)
                   for branch in getattr(node, "branches", []))
    if hasattr(node, "next"):
        routes += (Route(None, node.next),)
    return NodeCard(node.id, node.type, texts(node.text), options, number, unit, routes,
                    tuple(_flag_ref(flag, levels) for flag in flags),
                    node.id in dialog.screening, reachable, node.note)


def _option_row(dialog: Dialog, node: Any, option: Any, flags: list[Any], texts: _Texts,
                levels: dict[TriageLevel, Level]) -> OptionRow:
    value: Any = [option.id] if isinstance(node, MultiQuestion) else option.id
    facts = {node.id: value, **option.set}
    points = tuple(f"{cause.id} {rule.points:+d}" for cause in dialog.causes
                   for rule in cause.score if _uses(rule.when, facts))
    return OptionRow(option.id, texts(option.text),
                     tuple(f"{fact} = {_value(setting)}" for fact, setting in option.set.items()),
                     _leads_to(node, facts, flags),
                     tuple(_flag_ref(flag, levels) for flag in flags if _uses(flag.when, facts)),
                     points, option.exclusive)


def _uses(condition: Condition, facts: dict[str, Any]) -> bool:
    """Whether this answer makes one of the condition's own tests true (not under a `not`)."""
    return any(fact in facts and "not" not in path
               and holds(Condition.model_validate({fact: test}), facts)
               for fact, test, path in fact_tests(condition))


def _leads_to(node: Any, facts: dict[str, Any], flags: list[Any]) -> str | None:
    """Where one answer goes, when that answer alone decides it; None when others matter too."""
    alone = set(facts)
    for flag in flags:
        if flag.stop_at and facts_read(flag.when) <= alone and holds(flag.when, facts):
            return flag.stop_at
    if any(flag.stop_at and _uses(flag.when, facts) for flag in flags):
        return None
    branches = getattr(node, "branches", [])
    if branches and (isinstance(node, MultiQuestion)  # ticked together, options route as a set
                     or any(facts_read(branch.when) - alone for branch in branches)):
        return None
    return next((branch.next for branch in branches if holds(branch.when, facts)), node.next)


def _flag_ref(flag: Any, levels: dict[TriageLevel, Level]) -> FlagRef:
    return FlagRef(flag.id, levels[flag.level], flag.stop_at)


def _flag_card(dialog: Dialog, flag: Any, texts: _Texts, levels: dict[TriageLevel, Level],
               locale: Locale) -> FlagCard:
    read = facts_read(flag.when)
    asked_in = tuple(node.id for node in dialog.nodes if graph.facts_set_by(node) & read)
    return FlagCard(flag.id, texts(flag.title), texts(flag.advice), levels[flag.level],
                    describe(flag.when), _meaning(dialog, [flag.when], locale), flag.stop_at,
                    asked_in, flag.note)


def _cause_card(dialog: Dialog, cause: Any, texts: _Texts, levels: dict[TriageLevel, Level],
                locale: Locale) -> CauseCard:
    conditions = [rule.when for rule in cause.level_if] + [rule.when for rule in cause.score]
    return CauseCard(cause.id, texts(cause.title), texts(cause.explain), texts(cause.todo),
                     levels[cause.level],
                     tuple((describe(rule.when), levels[rule.level]) for rule in cause.level_if),
                     tuple((describe(rule.when), rule.points) for rule in cause.score),
                     _meaning(dialog, conditions, locale), cause.note)


def _outcome_card(dialog: Dialog, node: OutcomeNode, texts: _Texts,
                  levels: dict[TriageLevel, Level], reachable: bool) -> OutcomeCard:
    moves = graph.edges(dialog)
    sources = tuple(source for source, targets in moves.items() if node.id in targets)
    return OutcomeCard(node.id, texts(node.text), levels[node.level], node.show_causes,
                       sources, reachable, node.note)


def _meaning(dialog: Dialog, conditions: list[Condition], locale: Locale) -> tuple[str, ...]:
    """What the ids in conditions stand for: `a3_saddle = saddle: «option text»`."""
    lines: list[str] = []
    for condition in conditions:
        for fact, test, _path in fact_tests(condition):
            node = dialog.node_by_id.get(fact)
            if isinstance(test, Range):
                continue  # a number range reads as it is (`e1_age ≥ 50`)
            if node is not None and is_question(node):
                labels = {option.id: locale.text(option.text) for option in options_of(node)}
                for value in test_values(test):
                    if str(value) in labels:
                        lines.append(f"{fact} = {value}: «{labels[str(value)]}»")
                continue
            setters = [f"{owner.id} ({option.id})" for owner in dialog.nodes
                       for option in options_of(owner) if fact in option.set]
            if setters:
                chrome = CHROME.get(locale.language, CHROME["en"])
                lines.append(f"{fact}: {chrome['helper_fact']} {', '.join(setters)}")
    return tuple(dict.fromkeys(lines))


def _proof_summary(dialog: Dialog, report: proofs.ProofReport, locale: Locale) -> ProofSummary:
    answers = []
    for node_id, value in report.longest_answers:
        node = dialog.node_by_id.get(node_id)
        labels = {option.id: locale.text(option.text) for option in options_of(node)}
        values = value if isinstance(value, list) else [value]
        answers.append(f"{node_id}: " + ", ".join(labels.get(str(v), _value(v)) for v in values))
    violations = tuple((violation.prop, violation.message, violation.scenario())
                       for violation in report.violations)
    return ProofSummary(report.holds, _count(report.paths, locale.language),
                        _count(report.states, locale.language), report.longest_questions,
                        tuple(answers), report.screening_declared, violations)


def _appendix(locales: Sequence[Locale], texts: _Texts, names: dict[str, str],
              other: str) -> list[tuple[str, str, list[Text]]]:
    """Every key not shown yet, grouped by the part before the first dot, in file order."""
    keys = list(dict.fromkeys(key for locale in locales for key in locale.texts))
    groups: dict[str, list[str]] = {}
    for key in keys:
        if key not in texts.shown:
            groups.setdefault(key.split(".")[0] if "." in key else "", []).append(key)
    return [(group, names.get(group, other), [texts(key) for key in members])
            for group, members in groups.items()]


def _count(number: int, language: str) -> str:
    text = f"{number:,}"
    return text.replace(",", ".") if language == "id" else text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the command ----------------------------------------------------------------------------


def flow_picture(dialog: Dialog, locale: Locale) -> str | None:
    """The flow as SVG text to put inline, or None when Graphviz's `dot` is missing."""
    from bot.tools.flowchart import GraphvizMissing, flow_of, render
    try:
        svg = render(flow_of(dialog, locale), "svg").decode("utf-8")
    except GraphvizMissing:
        return None
    return svg[svg.find("<svg"):]


def main(args: argparse.Namespace) -> int:
    from bot.cli.main import EXIT_OK, EXIT_USAGE, _paths, usable_dialog, write_output
    try:
        languages = parse_languages(args.lang)
    except ValueError as exc:
        print(f"kebas: {exc}", file=sys.stderr)
        return EXIT_USAGE
    found = usable_dialog(_paths(args.paths), args.dialog)
    if isinstance(found, int):
        return found
    bundle, dialog = found
    unknown = [language for language in languages if language not in bundle.locales]
    if unknown:
        print(f"kebas: --lang '{args.lang}': there is no locale '{unknown[0]}' (there is: "
              f"{', '.join(sorted(bundle.locales))})", file=sys.stderr)
        return EXIT_USAGE
    locales = [bundle.locales[language] for language in languages]
    picture = flow_picture(dialog, locales[0])
    if picture is None:
        print("kebas: note: Graphviz's 'dot' is not installed, so the book has no flow "
              "picture; install it with 'sudo apt-get install graphviz'", file=sys.stderr)
    html = book_html(dialog, locales, proofs.prove(dialog), picture, date.today(),
                     bundle.content_hash)
    if args.output == "-":
        sys.stdout.write(html)
        return EXIT_OK
    return write_output(args.output, html)
