"""The review book's own words (headings, labels, the names of the appendix's groups).

Each word stands once, in Indonesian and in English side by side, so that none can be added in
one language and forgotten in the other. `CHROME` and `GROUPS` are the same words by language.
"""

from __future__ import annotations

BOOK_LANGUAGES = ("id", "en")

# The book's headings and labels.
WORDS: dict[str, tuple[str, str]] = {
    "book": ("Buku tinjauan klinis", "Clinical review book"),
    "dialog": ("Dialog", "Dialog"),
    "version": ("Versi", "Version"),
    "hash": ("Sidik dialog (hash)", "Dialog hash"),
    "content_hash": (
        "Sidik seluruh isi yang ditinjau (dialog dan semua teks)",
        "Hash of all the content reviewed (dialog and every text)",
    ),
    "generated": ("Dibuat", "Generated"),
    "languages": ("Bahasa", "Languages"),
    "toc": ("Daftar isi", "Contents"),
    "how_to_read": ("Cara membaca", "How to read this book"),
    "reading": (
        "Buku ini memuat seluruh isi dialog seperti yang dibaca pelari: setiap pertanyaan dengan "
        "pilihannya, setiap tanda bahaya, kemungkinan penyebab dan hasil, lalu semua teks lain di "
        "lampiran. Kode kecil abu-abu (misalnya q.a3_saddle) adalah kunci teks di locales/ atau "
        "id di dialogs/. Nilai dari vars (misalnya nomor darurat) sudah diisikan; tanda seperti "
        "{min} atau {title} diisi Kebas saat dipakai. Di tabel pilihan, kolom tanda bahaya dan "
        "poin menyebut aturan yang syaratnya memakai jawaban itu (mungkin bersama jawaban lain); "
        "\"lanjut ke\" menyebut pertanyaan atau hasil berikutnya.",
        "This book holds the whole dialog as a runner reads it: every question with its options, "
        "every red flag, likely cause and outcome, and every other text in the appendix. Small "
        "grey codes (such as q.a3_saddle) are text keys in locales/ or ids in dialogs/. Values "
        "from vars (such as the emergency numbers) are filled in; marks such as {min} or {title} "
        "are filled by Kebas when shown. In the option tables, the red-flag and points columns "
        "name the rules whose condition uses that answer (perhaps together with other answers); "
        "\"goes to\" names the next question or outcome.",
    ),
    "two_columns": ("Kiri: {first}. Kanan: {second}.", "Left: {first}. Right: {second}."),
    "proofs": ("Bukti keamanan (aturan a–e)", "Safety proofs (rules a–e)"),
    "holds": ("LULUS (holds)", "HOLDS"),
    "fail": ("GAGAL (FAIL)", "FAIL"),
    "paths": ("jalur jawaban berbeda diperiksa", "distinct answer paths checked"),
    "states": ("keadaan ditelusuri", "states explored"),
    "longest": ("Jalur terpanjang: {count} pertanyaan", "Longest path: {count} questions"),
    "no_paths": (
        "Jumlah jalur tidak dihitung karena ada pelanggaran.",
        "Paths are not counted when there is a violation.",
    ),
    "rules": (
        "Aturan yang dibuktikan pada setiap jalur jawaban:",
        "Rules proven on every answer path:",
    ),
    "rule_a": (
        "setiap jalur berakhir di hasil dan tidak menanyakan hal yang sama dua kali;",
        "every path ends at a result and never asks the same question twice;",
    ),
    "rule_b": (
        "saran tanda bahaya muncul tepat pada jawaban yang memicunya, dan hasil akhir setidaknya "
        "sesegera tanda bahaya itu;",
        "a red flag's advice is shown at the very answer that makes it true, and the result is at "
        "least that urgent;",
    ),
    "rule_c": ("tingkat kesegeraan tidak pernah turun;", "urgency never goes down;"),
    "rule_d": (
        "setiap hasil memuat penafian dan \"kapan harus segera mencari pertolongan\";",
        "every result has the disclaimer and \"when to seek help\";",
    ),
    "rule_e": (
        "pertanyaan skrining tanda bahaya selalu ditanyakan lebih dulu.",
        "the red-flag screening questions come first.",
    ),
    "no_screening": (
        "Dialog ini tidak menyebut pertanyaan skrining (screening:), jadi aturan e tidak "
        "dibuktikan.",
        "This dialog declares no screening questions (screening:), so rule e is not proven.",
    ),
    "violations": ("Pelanggaran", "Violations"),
    "rule": ("aturan", "rule"),
    "scenario": (
        "Jawaban terpendek yang mencapainya (skenario):",
        "The shortest answers that reach it (scenario):",
    ),
    "signoff": ("Persetujuan klinis", "Clinical sign-off"),
    "signoff_intro": (
        "Saya telah meninjau seluruh isi buku ini (dialog {dialog} versi {version}, sidik isi "
        "{hash}).",
        "I have reviewed the whole of this book (dialog {dialog} version {version}, content hash "
        "{hash}).",
    ),
    "reviewer": ("Nama peninjau", "Reviewer's name"),
    "registration": ("No. STR / SIP", "Registration no. (STR / SIP)"),
    "date": ("Tanggal", "Date"),
    "signature": ("Tanda tangan", "Signature"),
    "decision": ("Keputusan", "Decision"),
    "approved": ("Disetujui", "Approved"),
    "approved_notes": ("Disetujui dengan catatan", "Approved with notes"),
    "rejected": ("Belum disetujui", "Not approved"),
    "notes": ("Catatan", "Notes"),
    "after_signoff": (
        "Setelah disetujui, pengelola menjalankan: kebas signoff --reviewer \"NAMA\" "
        "--registration \"STR/SIP\" (untuk sidik isi {hash}). Pelari melihat \"ditinjau oleh "
        "...\" hanya selama isinya sama persis; setiap perubahan teks atau alur membuatnya "
        "kembali berstatus draf.",
        "Once approved, the maintainer runs: kebas signoff --reviewer \"NAME\" --registration "
        "\"STR/SIP\" (for content hash {hash}). Runners read \"reviewed by ...\" only while the "
        "content stays exactly the same; any edit of a text or of the flow makes it a draft again.",
    ),
    "flow": ("Gambar alur", "Flow picture"),
    "flow_intro": (
        "Digambar dari YAML (sama dengan kebas graph). Merah: jalan keluar tanda bahaya ke hasil "
        "darurat. Untuk memperbesar, buka file HTML ini di layar.",
        "Drawn from the YAML (as kebas graph draws it). Red: red-flag exits to the emergency "
        "ending. Open this HTML file on screen to zoom in.",
    ),
    "no_graphviz": (
        "Gambar alur tidak ada karena program Graphviz (dot) belum terpasang. Pasang dengan: sudo "
        "apt-get install graphviz, lalu jalankan kebas book lagi.",
        "There is no flow picture because Graphviz (dot) is not installed. Install it with: sudo "
        "apt-get install graphviz, then run kebas book again.",
    ),
    "screening": ("Skrining tanda bahaya", "Red-flag screening"),
    "screening_intro": (
        "Pertanyaan skrining: dibuktikan selalu ditanyakan lebih dulu.",
        "Screening questions: proven to be asked first.",
    ),
    "questions": ("Pertanyaan dan pesan", "Questions and messages"),
    "questions_intro": (
        "Urutan mengikuti alur dari awal dialog.",
        "In the order of the flow from the start of the dialog.",
    ),
    "red_flags": ("Tanda bahaya", "Red flags"),
    "red_flags_intro": (
        "Setiap tanda bahaya muncul seketika saat jawaban membuat syaratnya benar, dan tidak "
        "pernah dibatalkan oleh jawaban berikutnya.",
        "A red flag fires the moment an answer makes its condition true, and later answers never "
        "undo it.",
    ),
    "causes": ("Kemungkinan penyebab", "Likely causes"),
    "causes_intro": (
        "Penyebab ditampilkan bila poinnya minimal {min_points}, paling banyak {max_shown}, yang "
        "poinnya tertinggi lebih dulu.",
        "A cause is shown with at least {min_points} points, at most {max_shown} of them, best "
        "first.",
    ),
    "causes_lead": (
        "Hanya penyebab teratas yang unggul minimal {lead} poin yang ditampilkan; bila tidak ada "
        "yang unggul, {max_shown} teratas ditampilkan bersama teks \"beberapa kemungkinan "
        "penyebab\".",
        "Only the top causes at least {lead} points ahead of the rest are shown; when none is, "
        "the top {max_shown} are shown with the \"several causes\" text.",
    ),
    "outcomes": ("Hasil akhir", "Outcomes"),
    "outcomes_intro": (
        "Tingkat saran akhir = yang paling segera dari: batas bawah hasil, tanda bahaya yang "
        "muncul, dan penyebab yang ditampilkan.",
        "The final advice is the most urgent of: the outcome's floor, the red flags that fired "
        "and the causes shown.",
    ),
    "levels": ("Tingkat saran (triase)", "Triage levels"),
    "dialog_texts": ("Teks di setiap hasil", "Texts on every result"),
    "appendix": ("Lampiran: semua teks lain", "Appendix: every other text"),
    "appendix_intro": (
        "Teks yang ditampilkan Kebas sendiri (persetujuan, pesan salah, perintah, ...) dan teks "
        "lain di file bahasa yang belum muncul di atas.",
        "Texts Kebas shows itself (consent, errors, commands, ...) and any other text of the "
        "locale files not shown above.",
    ),
    "type_choice": ("pilih satu", "one choice"),
    "type_multi": ("pilih beberapa", "several choices"),
    "type_yesno": ("ya / tidak", "yes / no"),
    "type_number": ("angka", "number"),
    "type_info": ("pesan", "message"),
    "type_outcome": ("hasil", "outcome"),
    "screening_badge": ("skrining", "screening"),
    "unreachable": ("tidak bisa dicapai dari awal dialog", "cannot be reached from the start"),
    "answer": ("Jawaban", "Answer"),
    "sets": ("Mengisi", "Sets"),
    "leads_to": ("Lanjut ke", "Goes to"),
    "flags_used": ("Tanda bahaya terkait", "Related red flags"),
    "points": ("Poin penyebab", "Cause points"),
    "depends": ("tergantung jawaban lain", "depends on other answers"),
    "exclusive": (
        "tidak bisa digabung dengan pilihan lain",
        "cannot be combined with other options",
    ),
    "number_range": ("Angka dari {min} sampai {max}", "A number from {min} to {max}"),
    "whole": ("bilangan bulat", "whole number"),
    "decimal": ("boleh desimal", "decimals allowed"),
    "unit": ("Satuan", "Unit"),
    "routes": ("Alur", "Flow"),
    "if": ("jika", "if"),
    "otherwise": ("selain itu", "otherwise"),
    "then": ("lanjut ke", "go to"),
    "can_fire": ("Tanda bahaya yang bisa dipicu di sini", "Red flags that can fire here"),
    "stop": ("berhenti di", "stops at"),
    "goes_on": ("pertanyaan berlanjut", "questions go on"),
    "note": (
        "Catatan pengelola (tidak ditampilkan ke pelari)",
        "Maintainers' note (never shown to runners)",
    ),
    "level": ("Tingkat", "Level"),
    "condition": ("Syarat", "Condition"),
    "meaning": ("Arti jawaban dalam syarat", "Answers in the condition"),
    "helper_fact": ("fakta bantu, diisi oleh", "helper fact, set by"),
    "title": ("Judul", "Title"),
    "advice": ("Saran", "Advice"),
    "asked_in": ("Ditanyakan di", "Asked in"),
    "explain": ("Penjelasan", "Explanation"),
    "todo": ("Yang bisa dilakukan", "What to do"),
    "level_if": ("Tingkat lain bila", "Other level when"),
    "score": ("Aturan poin", "Points rules"),
    "floor": ("Tingkat minimal", "Floor level"),
    "show_causes": ("Menampilkan penyebab", "Shows causes"),
    "yes": ("ya", "yes"),
    "no": ("tidak", "no"),
    "reached_from": ("Dicapai dari", "Reached from"),
    "role_disclaimer": ("Penafian, di bawah setiap hasil", "Disclaimer, under every result"),
    "role_safety_net": (
        "Kapan harus segera mencari pertolongan, di bawah setiap hasil yang bukan darurat",
        "When to seek help, under every result that is not an emergency",
    ),
    "role_no_clear_cause": (
        "Bila tidak ada penyebab yang cukup poinnya",
        "When no cause has enough points",
    ),
    "role_several_causes": (
        "Bila tidak ada penyebab yang jelas unggul",
        "When no cause is clearly ahead",
    ),
    # The summary for the doctor (/ringkasan, issue 18).
    "summary": ("Ringkasan untuk dokter", "Summary for the doctor"),
    "summary_intro": (
        "Ringkasan yang bisa diminta pelari (/ringkasan, tombol di bawah hasil) untuk dokter: "
        "tiap baris di bawah ini dengan label dan pertanyaan yang mengisinya. Jawaban dicetak "
        "dengan istilah klinis di samping id pilihannya, bukan dengan kata-kata pelari.",
        "The summary a runner can ask for (/summary, the button under a result) to show a "
        "doctor: each line below with its label and the questions that fill it. An answer "
        "prints as the clinical term beside its option id, not in the runner's words.",
    ),
    "summary_no_questions": ("Tidak ada pertanyaan: selalu", "No question: always"),
    "summary_rule": ("Belum ditanyakan atau belum dijawab", "Not asked or not yet answered"),
    "summary_rule_intro": (
        "Bila tidak ada pertanyaan baris itu yang dijawab: selama tanya-jawab masih berjalan "
        "dan salah satunya masih bisa ditanyakan, baris itu berbunyi (1); bila tidak (cabang "
        "yang dilewati, berhenti karena darurat, atau baris tanpa pertanyaan), berbunyi (2). "
        "Ringkasan tanya-jawab yang belum selesai diberi tanda (3).",
        "When none of a line's questions is answered: while the session goes on and one of "
        "them may still be asked, the line reads (1); otherwise (a branch skipped, a stop at "
        "an emergency, or a line with no question) it reads (2). The summary of a session "
        "not finished is marked (3).",
    ),
    "summary_sample": ("Contoh ringkasan", "A sample summary"),
    "summary_sample_intro": (
        "Dibuat oleh kode yang sama dengan /ringkasan, dari jawaban buatan (pilihan \"tidak "
        "ada\" bila ada, selain itu pilihan terakhir): hanya untuk melihat tata letaknya.",
        "Made by the same code as /summary, from made-up answers (\"none of these\" where "
        "there is one, otherwise the last option): only to see its layout.",
    ),
    # The check-in (a dialog that follows up this one's results, issue 18).
    "checkin": ("Tanya ulang (check-in)", "Follow-up check-in"),
    "checkin_dialog": ("Dialog tanya ulang", "Check-in dialog"),
    "checkin_intro": (
        "Dialog kecil yang dikirim beberapa hari setelah hasil tertentu dari dialog {dialog}, "
        "hanya bila pelari memintanya. Dialog ini dibuktikan dengan aturan yang sama (a–e) dan "
        "termasuk dalam persetujuan klinis di halaman depan.",
        "A small dialog sent a few days after some results of dialog {dialog}, only when the "
        "runner asks for it. It is proven by the same rules (a–e) and is part of the clinical "
        "sign-off on the cover.",
    ),
    "checkin_offer": ("Kapan ditawarkan", "When it is offered"),
    "checkin_offer_intro": (
        "Dari followup: di dialog {dialog}. Di bawah hasil dengan tingkat berikut, Kebas "
        "menawarkan tombol untuk ditanya lagi; tanya ulang dikirim hanya bila pelari "
        "menekannya, dan tidak pada jam tenang malam hari (bawaan: 21.00–07.00 WIB).",
        "From followup: in dialog {dialog}. Under a result of the levels below, Kebas offers a "
        "button to be asked again; the check-in is sent only when the runner taps it, and not "
        "in the night's quiet hours (by default 21:00–07:00 WIB).",
    ),
    "offered_after": ("ditanyakan lagi setelah {days} hari", "asked again after {days} days"),
    "offered_after_one": ("ditanyakan lagi setelah 1 hari", "asked again after 1 day"),
    "not_offered": ("tidak ditawarkan", "not offered"),
    "not_offered_why": (
        "Setelah hasil darurat atau mendesak tidak ada tawaran: pelari diminta mencari "
        "pertolongan sekarang, bukan menunggu pengingat.",
        "There is no offer after an emergency or urgent result: the runner is told to get help "
        "now, not to wait for a reminder.",
    ),
    "copy_of": ("salinan dari {dialog}", "copy from {dialog}"),
    "checkin_questions_intro": (
        "Pertanyaan bertanda \"salinan\" sama persis dengan pertanyaan di dialog {dialog}; hanya "
        "ke mana jawabannya berlanjut yang boleh berbeda. kebas check menolak salinan yang tidak "
        "sama lagi.",
        "Questions marked \"copy\" are exactly the questions of dialog {dialog}; only where an "
        "answer goes next may differ. kebas check refuses a copy that is no longer equal.",
    ),
    "checkin_flags_intro": (
        "Tanda bahaya bertanda \"salinan\" adalah semua tanda bahaya dialog {dialog} yang hanya "
        "membaca jawaban yang ditanyakan lagi di sini. kebas check memastikan salinan itu tetap "
        "sama dengan aslinya (kecuali hasil tempat berhenti, stop_at) dan tidak ada yang "
        "terlewat. Tanda bahaya lainnya milik tanya ulang sendiri.",
        "Red flags marked \"copy\" are every red flag of dialog {dialog} that reads only answers "
        "asked again here. kebas check keeps each equal to its original (except the ending it "
        "stops at, stop_at) and makes sure none is missing. The other red flags are the "
        "check-in's own.",
    ),
    "same_words": (
        "Judul dan saran sama dengan tanda bahaya {dialog}",
        "Same title and advice as the {dialog} red flag",
    ),
    "outcomes_intro_no_causes": (
        "Tingkat saran akhir = yang paling segera dari: batas bawah hasil dan tanda bahaya yang "
        "muncul.",
        "The final advice is the most urgent of: the outcome's floor and the red flags that "
        "fired.",
    ),
    "checkin_same_texts": (
        "Penafian dan teks \"kapan harus segera mencari pertolongan\" sama dengan dialog {dialog}.",
        "The disclaimer and the \"when to seek help\" text are those of dialog {dialog}.",
    ),
    "signoff_both": (
        "Persetujuan ini mencakup kedua dialog: {dialog} versi {version} dan tanya ulangnya "
        "{checkin} versi {checkin_version}. Sidik isi {hash} mencakup keduanya dan semua teks.",
        "This sign-off covers both dialogs: {dialog} version {version} and its check-in "
        "{checkin} version {checkin_version}. Content hash {hash} covers both and every text.",
    ),
    "filled_by_kebas": ("diisi Kebas", "filled by Kebas"),
    "group_other": ("lainnya", "other"),
}

# What each group of text keys (the part before the first dot) is for, in the appendix.
GROUP_NAMES: dict[str, tuple[str, str]] = {
    "vars": ("Nilai yang disisipkan ke teks", "Values inserted into texts"),
    "dialog": ("Judul dialog", "Dialog title"),
    "unit": ("Satuan", "Units"),
    "common": ("Kata dan teks umum", "Common words and texts"),
    "error": ("Pesan bila jawaban salah", "Messages for a wrong answer"),
    "info": ("Pemberitahuan", "Notices"),
    "outcome": ("Judul di layar hasil", "Headings of the result"),
    "triage": ("Tingkat saran", "Triage levels"),
    "red_flag": ("Judul tanda bahaya", "Red-flag heading"),
    "multi": ("Pilihan ganda", "Multiple choice"),
    "console": ("Terminal (kebas chat)", "Terminal (kebas chat)"),
    "why": ("\"Mengapa saran ini?\"", "\"Why this advice?\""),
    "tg": (
        "Telegram: sambutan, persetujuan, privasi, pesan",
        "Telegram: welcome, consent, privacy, messages",
    ),
    "command": ("Menu perintah Telegram", "Telegram command menu"),
    "msg": ("Pesan yang tidak dipakai dialog ini", "Messages this dialog does not use"),
    "out": ("Hasil yang tidak dipakai", "Outcomes not used"),
    "q": ("Pertanyaan yang tidak dipakai", "Questions not used"),
    "opt": ("Pilihan yang tidak dipakai", "Options not used"),
    "rf": ("Tanda bahaya yang tidak dipakai", "Red flags not used"),
    "cause": ("Penyebab yang tidak dipakai", "Causes not used"),
    "stats": ("Laporan pemakaian (kebas stats)", "Usage report (kebas stats)"),
}


def by_language(words: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {language: {key: pair[index] for key, pair in words.items()}
            for index, language in enumerate(BOOK_LANGUAGES)}


# The book's headings and labels, in the first language of the book.
CHROME = by_language(WORDS)
# What each group of text keys is for, in the appendix.
GROUPS = by_language(GROUP_NAMES)


def chrome_for(language: str) -> dict[str, str]:
    """The book's words in `language`, or in English when the book has no words in it."""
    return CHROME.get(language, CHROME["en"])
