#!/usr/bin/env python3
"""Run the whole asyncfix pipeline over real projects and report what could go wrong.

    python bench/corpus.py [--jobs N] [--select CODES] [--test-command CMD] DIR...

Each DIR is one project. It is copied to a temporary directory (the original is never
touched), rewritten there as `asyncfix apply` would, and the rewrite is run again. Per
project it reports: Python files, findings by code, files changed, crashes (a codemod that
raised, a worker that died, a rewrite the driver's own verification refused), outputs that
fail compile() although the original compiled, non-idempotent files (changed again by the
second run), and input errors (syntax errors, binary files... in the project itself).

The files are written as `asyncfix apply` writes them (the project's configuration,
--format auto). For each changed file the project's own checks run on the file before and
after the rewrite, in the temporary copies, with the project's configuration: its import
check (ruff's `I` rules where its ruff configuration selects them, else isort where it is
configured) and its formatter check (black --check or ruff format --check, where
`[tool.black]`, a ruff `format` table or a pre-commit hook says it runs one). The report
gives, per changed file, pass/fail before -> after, and the diff's hunks per rule (a hunk
counts for each rule whose finding is on its lines, else for the rules rewritten in its
file: an added import, a new lifespan function). A check that
passed before and fails after is a regression (exit status 1). --no-checks skips them.

With --test-command (run with the project as working directory, e.g. "pytest -x -q"),
the project's own suite runs on an untouched copy and on the rewritten copy; the report
says whether it passed before and after. Most projects need services (databases, ...)
to run their suite, so this is opt-in.

Not part of the test suite: the corpora are fetched by hand into bench/corpora/, which
is gitignored. Exit status: 1 if any project had a crash, a compile failure, a
non-idempotent file or a check regression, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asyncfix.config import find_pyproject, load_config
from asyncfix.driver import RunResult, run
from asyncfix.formatting import configured_formatter, ruff_binary
from asyncfix.patches import unified_diff
from asyncfix.project import import_sorter
from asyncfix.report import Finding
from asyncfix.review import Change, rewrites

# Driver errors that are asyncfix's fault rather than the input's.
CRASH_MARKERS = ("internal error", "worker failed", "too deeply nested to rewrite")


@dataclass
class FileChecks:
    """The project's own checks on one changed file: "pass", "fail" or "-" (not run)."""

    file: str
    imports_before: str = "-"
    imports_after: str = "-"
    format_before: str = "-"
    format_after: str = "-"

    @property
    def regressions(self) -> list[str]:
        return [
            name
            for name, before, after in (
                ("imports", self.imports_before, self.imports_after),
                ("format", self.format_before, self.format_after),
            )
            if before == "pass" and after != "pass"
        ]


@dataclass
class ProjectReport:
    project: str
    commit: str
    files: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    crashes: list[str] = field(default_factory=list)
    compile_failures: list[str] = field(default_factory=list)
    non_idempotent: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    tests_before: str = "not run"
    tests_after: str = "not run"
    seconds: float = 0.0
    import_check: str = "-"  # the project's import check: "ruff I", "isort" or "-"
    format_check: str = "-"  # its formatter check: "black", "ruff format" or "-"
    checks: list[FileChecks] = field(default_factory=list)
    hunks: dict[str, int] = field(default_factory=dict)  # per rule code ("imports": none)

    @property
    def regressions(self) -> list[str]:
        return [f"{c.file}: {name}" for c in self.checks for name in c.regressions]

    @property
    def bad(self) -> bool:
        return bool(
            self.crashes or self.compile_failures or self.non_idempotent or self.regressions
        )


def _commit(path: Path) -> str:
    proc = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() if proc.returncode == 0 else "-"


def _sources_only(directory: str, names: list[str]) -> list[str]:
    # What discovery looks at: Python files, .gitignore files, pyproject.toml.
    keep = {".gitignore", "pyproject.toml"}
    return [
        n
        for n in names
        if n == ".git"
        or not (n.endswith(".py") or n in keep or os.path.isdir(os.path.join(directory, n)))
    ]


def _without_git(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == ".git"]


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _compiles(data: bytes, name: str) -> bool:
    try:
        compile(data, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _suite(command: str, where: Path, timeout: int) -> str:
    try:
        proc = subprocess.run(command, shell=True, cwd=where, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "pass" if proc.returncode == 0 else f"fail ({proc.returncode})"


def check_project(
    source: Path,
    select: tuple[str, ...],
    jobs: int,
    test_command: str | None,
    timeout: int,
    checks: bool = True,
) -> ProjectReport:
    report = ProjectReport(source.name, _commit(source))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="asyncfix-corpus-") as tmp:
        work = Path(tmp) / source.name
        # The checks read the project's configuration files: copy them all.
        full = test_command or checks
        shutil.copytree(source, work, symlinks=True, ignore=_without_git if full else _sources_only)
        pristine = Path(tmp) / "pristine"
        if full:
            shutil.copytree(work, pristine, symlinks=True)
        if test_command:
            report.tests_before = _suite(test_command, pristine, timeout)
        with _cwd(work):
            # The project's own configuration, as `asyncfix apply` run there reads it.
            config = load_config(find_pyproject(work)).with_overrides(select=list(select))
            first = run([Path(".")], config, jobs=jobs)
            _record_first(report, first)
            changes = rewrites(first.outcomes, "auto", config.source, annotated=False, jobs=jobs)
            for change in changes:
                change.path.write_bytes(change.new)
            _count_hunks(report, changes, first.findings)
            second = run([Path(".")], config, jobs=jobs)
            report.non_idempotent += sorted(o.file.display for o in second.outcomes if o.changed)
        if checks:
            _run_checks(report, [c.display for c in changes], pristine, work)
        if test_command:
            report.tests_after = _suite(test_command, work, timeout)
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def _count_hunks(
    report: ProjectReport, changes: Sequence[Change], findings: Sequence[Finding]
) -> None:
    """Each hunk of each diff, counted for every rule with a finding on its old lines; a
    hunk with none (an import, a new lifespan function) for the rules the file's rewrites
    carry out, "other" where there are none."""
    lines: dict[str, dict[int, set[str]]] = {}
    for finding in findings:
        if finding.fixable:
            lines.setdefault(finding.path, {}).setdefault(finding.line, set()).add(finding.code)
    counts: Counter[str] = Counter()
    for change in changes:
        at = lines.get(change.display, {})
        fixed: set[str] = set().union(*at.values())
        for match in _HUNK.finditer(unified_diff(change.display, change.old_text, change.new_text)):
            start, length = int(match.group(1)), int(match.group(2) or 1)
            codes = set().union(*(at.get(n, set()) for n in range(start, start + max(length, 1))))
            counts.update(codes or fixed or {"other"})
    report.hunks = dict(sorted(counts.items()))


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? ", re.MULTILINE)


def _checks_for(root: Path) -> tuple[str, str]:
    """The project's import check and formatter check, as its configuration names them."""
    pyproject = find_pyproject(root)
    directory = pyproject.parent if pyproject is not None else root
    sorter = import_sorter(directory).tool
    imports = {"ruff": "ruff I", "isort": "isort"}.get(sorter, "-")
    formatter = configured_formatter(directory, pyproject)
    return imports, {"black": "black", "ruff": "ruff format"}.get(formatter, "-")


def _check_command(check: str, path: str, root: Path) -> list[str]:
    ruff = ruff_binary() or "ruff"
    return {
        # --force-exclude: a file the project's configuration excludes is not checked;
        # --no-fix: a project's `fix = true` would mend the file and pass it.
        "ruff I": [
            ruff,
            "check",
            "--select",
            "I",
            "--no-fix",
            "--force-exclude",
            "--no-cache",
            "--quiet",
            path,
        ],
        "isort": [sys.executable, "-m", "isort", "--check-only", "--settings-path", ".", path],
        "black": [sys.executable, "-m", "black", "--check", "--quiet", path],
        "ruff format": [
            ruff,
            "format",
            "--check",
            "--force-exclude",
            "--no-cache",
            "--quiet",
            path,
        ],
    }[check]


def _check(check: str, path: str, root: Path) -> str:
    if check == "-":
        return "-"
    try:
        proc = subprocess.run(
            _check_command(check, path, root), cwd=root, capture_output=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired):
        return "error"
    return "pass" if proc.returncode == 0 else "fail"


def _run_checks(report: ProjectReport, files: Sequence[str], before: Path, after: Path) -> None:
    report.import_check, report.format_check = _checks_for(before)
    for name in files:
        if not name.endswith(".py"):
            continue  # a dependency list (--add-deps): not the checks' business
        report.checks.append(
            FileChecks(
                name,
                _check(report.import_check, name, before),
                _check(report.import_check, name, after),
                _check(report.format_check, name, before),
                _check(report.format_check, name, after),
            )
        )


def _record_first(report: ProjectReport, result: RunResult) -> None:
    report.files = result.summary.scanned
    report.findings = dict(sorted(Counter(f.code for f in result.findings).items()))
    for error in result.errors:
        line = error.format()
        if "not idempotent" in error.message:
            report.non_idempotent.append(line)
        elif "would not compile" in error.message or "would not parse" in error.message:
            report.compile_failures.append(line)
        elif error.message.startswith(CRASH_MARKERS):
            report.crashes.append(line)
        else:
            report.input_errors.append(line)
    for outcome in result.outcomes:
        if not outcome.changed or outcome.new is None or outcome.original is None:
            continue
        report.changed += 1
        # Independent of the driver's own verification: compile what would be written.
        name = outcome.file.display
        if _compiles(outcome.original, name) and not _compiles(outcome.new, name):
            report.compile_failures.append(f"{name}: output does not compile")


def table(reports: Sequence[ProjectReport], tests: bool) -> str:
    head = "| project | commit | files | findings | changed | crashes | not compiling "
    head += "| non-idempotent | input errors |"
    rule = "|---|---|--:|---|--:|--:|--:|--:|--:|"
    if tests:
        head += " tests before | tests after |"
        rule += "---|---|"
    rows = [head, rule]
    for r in reports:
        codes = ", ".join(f"{c}={n}" for c, n in r.findings.items()) or "none"
        row = (
            f"| {r.project} | `{r.commit}` | {r.files} | {codes} | {r.changed} | "
            f"{len(r.crashes)} | {len(r.compile_failures)} | {len(r.non_idempotent)} | "
            f"{len(r.input_errors)} |"
        )
        if tests:
            row += f" {r.tests_before} | {r.tests_after} |"
        rows.append(row)
    return "\n".join(rows)


def checks_table(reports: Sequence[ProjectReport]) -> str:
    """Per changed file: the project's checks before -> after; hunks per rule per project."""
    rows = [
        "| project | file | import check | before -> after | format check | before -> after |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        for c in r.checks:
            rows.append(
                f"| {r.project} | {c.file} | {r.import_check} | {c.imports_before} -> "
                f"{c.imports_after} | {r.format_check} | {c.format_before} -> {c.format_after} |"
            )
    rows += ["", "| project | hunks per rule | check regressions |", "|---|---|--:|"]
    for r in reports:
        hunks = ", ".join(f"{c}={n}" for c, n in r.hunks.items()) or "none"
        rows.append(f"| {r.project} | {hunks} | {len(r.regressions)} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--select", default="AF", help="comma-separated codes or families")
    parser.add_argument("--test-command", help="the project's test command, e.g. 'pytest -q'")
    parser.add_argument("--test-timeout", type=int, default=900)
    parser.add_argument("--json", type=Path, help="also write the full report here")
    parser.add_argument(
        "--no-checks", action="store_true", help="skip the project's import/format checks"
    )
    args = parser.parse_args(argv)
    select = tuple(s.strip() for s in args.select.split(",") if s.strip())
    reports = []
    for directory in args.dirs:
        if not directory.is_dir():
            parser.error(f"{directory}: not a directory")
        print(f"corpus: {directory} ...", file=sys.stderr, flush=True)
        report = check_project(
            directory.resolve(),
            select,
            args.jobs,
            args.test_command,
            args.test_timeout,
            checks=not args.no_checks,
        )
        reports.append(report)
        for kind, lines in (
            ("crash", report.crashes),
            ("does not compile", report.compile_failures),
            ("not idempotent", report.non_idempotent),
            ("check regression", report.regressions),
        ):
            for line in lines:
                print(f"  {report.project}: {kind}: {line}", file=sys.stderr)
        print(f"  {report.project}: {report.seconds}s", file=sys.stderr)
        # Row by row as well: a long corpus run is worth something even if cut short.
        print(
            "  " + table([report], tests=bool(args.test_command)).splitlines()[-1],
            file=sys.stderr,
            flush=True,
        )
        if args.json:
            args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    print(table(reports, tests=bool(args.test_command)))
    if not args.no_checks:
        print()
        print(checks_table(reports))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    return 1 if any(r.bad for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
