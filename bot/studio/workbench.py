"""What the studio knows of the content: reloaded after every save, panel by panel.

A reload runs the commands' own code, fastest first, and publishes each part as soon as it is
ready, so the problems show within a second of a save while the slower parts follow:

1. `kebas check`: the problems with FILE:LINE and hints, and the proof verdict (rules a-e);
2. `kebas scenarios` with coverage, and `kebas graph`'s SVG of each dialog;
3. `kebas diff` against the last commit (git HEAD) or the signed-off revision.

A save during a reload makes that reload stop at its next step (the comparison stops in its
progress report), so the page never shows a mix of two versions for long. Nothing here writes.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from bot.content.checks import check_bundle, has_errors
from bot.content.loader import Bundle, LoadedDialog, load_bundle
from bot.content.revisions import SourceProblem, folders_at
from bot.content.scenarios import Suite, run_suite
from bot.content.signoff_check import check_content, proof_verdict
from bot.core.i18n import Locale, pick_language
from bot.core.problems import Problem
from bot.tools.book import flow_picture
from bot.tools.diff import DiffTooLarge, compare
from bot.tools.diff_report import report_lines

HEAD = "HEAD"
SIGNED_OFF = "signoff"
BASELINES = (HEAD, SIGNED_OFF)
DIFF_SAMPLES = 1000  # as `kebas diff` draws by default
DIFF_WIDTH = 110


class Superseded(Exception):
    """A newer save came in: this reload's results would be out of date."""


@dataclass(frozen=True)
class Flow:
    dialog: str
    svg: str | None            # the picture, or None with `problem`
    problem: str | None = None
    start: str = ""            # the first node's id: the page opens the picture there


@dataclass(frozen=True)
class Changes:
    """`kebas diff`'s report as HTML, or why there is none."""

    against: str               # what the content was compared with, in words
    html: str | None = None    # None: still comparing, or `problem`
    problem: str | None = None
    lowered: bool = False      # some answers now get less urgent advice
    changed: bool = False


@dataclass(frozen=True)
class Panels:
    """Everything the page shows of one version of the content."""

    generation: int = 0
    loaded_at: float = 0.0
    files: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    verdicts: tuple[str, ...] = ()
    summary: str = ""
    suite: Suite | None = None
    flows: tuple[Flow, ...] = ()
    changes: Changes | None = None
    failure: str | None = None     # the studio itself failed on this version (not the YAML)
    loading: bool = True

    @property
    def errors(self) -> bool:
        return has_errors(list(self.problems))

    @property
    def status(self) -> tuple[str, str]:
        """What the page's header says of this version, and how ("ok", "bad" or "busy")."""
        suite, changes = self.suite, self.changes
        if self.errors:
            return "the dialog has errors", "bad"
        if self.failure:
            return "the studio could not finish reading this version", "bad"
        if suite is None:
            return "checking…", "busy"
        if suite.unreadable:
            return "a scenario file has errors", "bad"
        if suite.failed:
            return f"{len(suite.failed)} scenarios fail", "bad"
        if changes is None or (changes.html is None and changes.problem is None):
            return "comparing what changed…", "busy"
        if changes.lowered:
            return f"less urgent advice than {changes.against}", "bad"
        return "up to date", "ok"


@dataclass
class Workbench:
    """The content under `paths` and its panels; `revision` counts every change of them."""

    paths: list[Path]
    baseline: str = HEAD
    panels: Panels = field(default_factory=Panels)
    bundle: Bundle | None = None     # the content as last loaded, when it has no errors
    revision: int = 0
    generation: int = 0              # one more for every save seen
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw_change(self) -> None:
        """A file changed: whatever a reload is doing is now out of date."""
        with self.lock:
            self.generation += 1

    def _publish(self, generation: int, panels: Panels, bundle: Bundle | None = None,
                 keep_bundle: bool = True) -> None:
        with self.lock:
            if generation != self.generation:
                raise Superseded()
            self.panels = panels
            if not keep_bundle:
                self.bundle = bundle
            self.revision += 1

    def _current(self, generation: int) -> Callable[[str, int, int | None], None]:
        """A progress report for a long comparison that stops it once a save came in."""
        def progress(_phase: str, _done: int, _total: int | None) -> None:
            if self.generation != generation:
                raise Superseded()
        return progress

    def reload(self) -> None:
        """Load and check the content, then the slower parts; a newer save stops it."""
        generation = self.generation
        try:
            self._reload(generation)
        except Superseded:
            return
        except Exception as exc:  # noqa: BLE001 - the page says it; the studio goes on
            with self.lock:
                if generation == self.generation:
                    self.panels = replace(self.panels, failure=f"{type(exc).__name__}: {exc}",
                                          loading=False)
                    self.revision += 1

    def _reload(self, generation: int) -> None:
        bundle, problems, reports = check_content(self.paths)
        errors = has_errors(problems)
        errors_count = sum(problem.is_error for problem in problems)
        dialogs = ", ".join(f"{d.dialog.id} v{d.dialog.version}" for d in bundle.dialogs)
        panels = Panels(generation, time.time(), tuple(bundle.files), tuple(problems),
                        tuple(proof_verdict(loaded, report) for loaded, report in reports),
                        f"{len(bundle.files)} files checked (dialogs: {dialogs or 'none'}; "
                        f"languages: {', '.join(sorted(bundle.locales)) or 'none'}): "
                        f"{errors_count} errors, {len(problems) - errors_count} warnings",
                        loading=not errors)
        self._publish(generation, panels, None if errors else bundle, keep_bundle=False)
        if errors:
            return
        scenarios = self.paths[0] / "scenarios"
        suite = run_suite(bundle, [scenarios] if scenarios.is_dir() else [], keep_going=True)
        locale = bundle.locales[pick_language(None, bundle.locales)]
        panels = replace(panels, suite=suite,
                         flows=tuple(flow(loaded, locale) for loaded in bundle.dialogs),
                         changes=Changes(self.baseline_name(bundle)))
        self._publish(generation, panels)
        changes = self.changes(bundle, generation)
        self._publish(generation, replace(panels, changes=changes, loading=False))

    def baseline_name(self, bundle: Bundle) -> str:
        if self.baseline == SIGNED_OFF:
            last = bundle.signoffs[-1] if bundle.signoffs else None
            if last is None or last.revision is None:
                return "the signed-off version"
            return f"the version {last.reviewer} signed off on {last.date} ({last.revision[:10]})"
        return "the last commit (git HEAD)"

    def changes(self, bundle: Bundle, generation: int) -> Changes:
        """`kebas diff` of the baseline and the content now, as the command reports it."""
        against = self.baseline_name(bundle)
        revision = HEAD
        if self.baseline == SIGNED_OFF:
            last = bundle.signoffs[-1] if bundle.signoffs else None
            if last is None or last.revision is None:
                return Changes(against, problem="nothing was signed off with a git revision "
                               "yet (kebas signoff records one); compare with the last commit")
            revision = last.revision
        with ExitStack() as scratch:
            try:
                paths, name = folders_at(revision, self.paths, scratch), f"{revision} (git)"
            except SourceProblem as exc:
                return Changes(against, problem=str(exc))
            old = load_bundle(paths)
            if has_errors(check_bundle(old, code_texts=())):
                return Changes(against, problem=f"{name} has errors, so it cannot be compared "
                               "(kebas check on that version shows them)")
            return self._compared(old, bundle, (name, str(self.paths[0])), against,
                                  generation)

    def _compared(self, old: Bundle, new: Bundle, names: tuple[str, str], against: str,
                  generation: int) -> Changes:
        old_ids = {loaded.dialog.id for loaded in old.dialogs}
        out = Console(record=True, file=io.StringIO(), width=DIFF_WIDTH, highlight=False,
                      soft_wrap=True)
        locales: list[Locale | None] = [bundle.locales.get(pick_language(None, bundle.locales))
                                        for bundle in (old, new)]
        changed = lowered = False
        for loaded in new.dialogs:
            dialog_id = loaded.dialog.id
            if dialog_id not in old_ids:
                out.print(f"dialog '{dialog_id}' is only in {names[1]}; not compared")
                continue
            try:
                report = compare(old.dialog(dialog_id), loaded.dialog, samples=DIFF_SAMPLES,
                                 progress=self._current(generation))
            except DiffTooLarge as exc:
                out.print(f"{dialog_id} has too many distinct situations to compare (more "
                          f"than {exc.args[0]:,})")
                continue
            for line in report_lines(report, names, locales, limit=30):
                out.print(line)
            out.print()
            changed = changed or report.changed
            lowered = lowered or report.lowered
        html = out.export_html(inline_styles=True, code_format="{code}")
        return Changes(against, html, changed=changed, lowered=lowered)

    def set_baseline(self, baseline: str) -> None:
        if baseline not in BASELINES:
            raise ValueError(f"compare with {' or '.join(BASELINES)}, not '{baseline}'")
        self.baseline = baseline


def flow(loaded: LoadedDialog, locale: Locale) -> Flow:
    """`kebas graph --format svg` of one dialog, ready to put inside the page (the review
    book's picture, its ids prefixed by the dialog's so that two pictures share none)."""
    dialog = loaded.dialog
    svg = flow_picture(dialog, locale, at=f"{dialog.id}-")
    if svg is None:
        return Flow(dialog.id, None, "Graphviz's 'dot' program is not installed, so there is "
                    "no picture; install it with 'sudo apt-get install graphviz'")
    return Flow(dialog.id, svg, start=dialog.start)
