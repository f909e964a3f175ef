#!/usr/bin/env python3
"""Run the whole asyncfix pipeline over real projects and report what could go wrong.

    python bench/corpus.py [--jobs N] [--select CODES] [--test-command CMD] DIR...

Each DIR is one project. It is copied to a temporary directory (the original is never
touched), rewritten there as `asyncfix apply` would, and the rewrite is run again. Per
project it reports: Python files, findings by code, files changed, crashes (a codemod that
raised, a worker that died, a rewrite the driver's own verification refused), outputs that
fail compile() although the original compiled, non-idempotent files (changed again by the
second run), and input errors (syntax errors, binary files... in the project itself).

With --test-command (run with the project as working directory, e.g. "pytest -x -q"),
the project's own suite runs on an untouched copy and on the rewritten copy; the report
says whether it passed before and after. Most projects need services (databases, ...)
to run their suite, so this is opt-in.

Not part of the test suite: the corpora are fetched by hand into bench/corpora/, which
is gitignored. Exit status: 1 if any project had a crash, a compile failure or a
non-idempotent file, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
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

from asyncfix.config import Config
from asyncfix.driver import RunResult, run

# Driver errors that are asyncfix's fault rather than the input's.
CRASH_MARKERS = ("internal error", "worker failed", "too deeply nested to rewrite")


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

    @property
    def bad(self) -> bool:
        return bool(self.crashes or self.compile_failures or self.non_idempotent)


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
    source: Path, config: Config, jobs: int, test_command: str | None, timeout: int
) -> ProjectReport:
    report = ProjectReport(source.name, _commit(source))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="asyncfix-corpus-") as tmp:
        work = Path(tmp) / source.name
        ignore = _without_git if test_command else _sources_only
        shutil.copytree(source, work, symlinks=True, ignore=ignore)
        if test_command:
            pristine = Path(tmp) / "pristine"
            shutil.copytree(work, pristine, symlinks=True)
            report.tests_before = _suite(test_command, pristine, timeout)
        with _cwd(work):
            first = run([Path(".")], config, jobs=jobs)
            _record_first(report, first)
            for outcome in first.outcomes:
                if outcome.changed and outcome.new is not None:
                    outcome.file.path.write_bytes(outcome.new)
            second = run([Path(".")], config, jobs=jobs)
            report.non_idempotent += sorted(o.file.display for o in second.outcomes if o.changed)
        if test_command:
            report.tests_after = _suite(test_command, work, timeout)
    report.seconds = round(time.perf_counter() - started, 1)
    return report


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--select", default="AF", help="comma-separated codes or families")
    parser.add_argument("--test-command", help="the project's test command, e.g. 'pytest -q'")
    parser.add_argument("--test-timeout", type=int, default=900)
    parser.add_argument("--json", type=Path, help="also write the full report here")
    args = parser.parse_args(argv)
    config = Config(select=tuple(s.strip() for s in args.select.split(",") if s.strip()))
    reports = []
    for directory in args.dirs:
        if not directory.is_dir():
            parser.error(f"{directory}: not a directory")
        print(f"corpus: {directory} ...", file=sys.stderr, flush=True)
        report = check_project(
            directory.resolve(), config, args.jobs, args.test_command, args.test_timeout
        )
        reports.append(report)
        for kind, lines in (
            ("crash", report.crashes),
            ("does not compile", report.compile_failures),
            ("not idempotent", report.non_idempotent),
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
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    return 1 if any(r.bad for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
