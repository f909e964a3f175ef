"""The command line: a thin layer over the driver that formats and writes."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from asyncfix import __version__
from asyncfix.codemods import RegistryError, all_codemods, all_rules
from asyncfix.config import Config, ConfigError, find_pyproject, load_config
from asyncfix.driver import FileOutcome, RunResult, run
from asyncfix.files import atomic_write, write_error_message
from asyncfix.patches import unified_diff
from asyncfix.report import FileError, findings_json, github_annotations
from asyncfix.sarif import sarif_json
from asyncfix.shard import parse_shard

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # Options only _execute needs: kept in the context rather than in every signature.
    if param.name == "shard" and value is not None:
        try:
            value = parse_shard(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    ctx.meta[f"asyncfix.{param.name}"] = value
    return value


def _run_options(func: F) -> F:
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option(
            "--select", multiple=True, help="Rule codes, prefixes (AF2) or family names to run."
        ),
        click.option("--ignore", multiple=True, help="Rule codes, prefixes or families to skip."),
        click.option("--exclude", multiple=True, help="Gitignore-style pattern of paths to skip."),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=1),
            default=None,
            help="Worker processes (default: all cores).",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help="pyproject.toml to read [tool.asyncfix] from (default: the nearest one).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print only errors and diffs."),
        click.option("--verbose", "-v", is_flag=True, help="Also list the findings it fixes."),
        click.option(
            "--exit-zero",
            is_flag=True,
            help="Exit 0 even with findings or changes left (errors still exit 2).",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="Neither read nor write the result cache (.asyncfix_cache/).",
        ),
        click.option(
            "--shard",
            metavar="K/N",
            expose_value=False,
            callback=_remember,
            help="Only the K-th of N stable parts of the files (split a run over CI jobs).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(
    paths: Sequence[Path],
    config_path: Path | None,
    select: Sequence[str],
    ignore: Sequence[str],
    exclude: Sequence[str],
) -> Config:
    try:
        if config_path is None:
            config_path = find_pyproject(paths[0] if paths else Path.cwd())
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return config.with_overrides(select=_split(select), ignore=_split(ignore), exclude=exclude)


def _execute(paths: Sequence[Path], config: Config, jobs: int | None, quiet: bool) -> RunResult:
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="asyncfix", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    show_progress = not quiet and sys.stderr.isatty()
    try:
        meta = click.get_current_context().meta
        return run(
            paths or [Path(".")],
            config,
            jobs=jobs,
            progress=progress if show_progress else None,
            cache=not meta.get("asyncfix.no_cache", False),
            shard=meta.get("asyncfix.shard"),
        )
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _texts(outcome: FileOutcome) -> tuple[str, str]:
    assert outcome.original is not None and outcome.new is not None
    return (
        outcome.original.decode(outcome.encoding),
        outcome.new.decode(outcome.encoding),
    )


def _report_errors(errors: Sequence[FileError]) -> None:
    for error in errors:
        click.echo(error.format(), err=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asyncfix")
def main() -> None:
    """Find and fix the async performance killers in FastAPI/asyncio code."""
    # SIGTERM ends the run like Ctrl-C: between atomic writes, never inside one.
    signal.signal(signal.SIGTERM, _terminate)


@main.command()
@_run_options
@click.option("--dry-run", is_flag=True, help="Write nothing; print diffs; exit 1 on changes.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the diffs also when writing.")
@click.option(
    "--patch-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one git-apply-able .patch per changed file here.",
)
def apply(
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    jobs: int | None,
    config_path: Path | None,
    quiet: bool,
    verbose: bool,
    exit_zero: bool,
    dry_run: bool,
    show_diff: bool,
    patch_dir: Path | None,
) -> None:
    """Rewrite files in place (or show what would change with --dry-run)."""
    config = _load(paths, config_path, select, ignore, exclude)
    try:
        result = _execute(paths, config, jobs, quiet)
    except KeyboardInterrupt:
        click.echo("asyncfix: interrupted; no file was written", err=True)
        sys.exit(EXIT_ERROR)
    errors = list(result.errors)
    changed = [o for o in result.outcomes if o.changed]
    written = 0
    try:
        for outcome in changed:
            old, new = _texts(outcome)
            if dry_run or show_diff:
                click.echo(unified_diff(outcome.file.display, old, new), nl=False)
            if patch_dir is not None:
                error = _write_patch(patch_dir, outcome, old, new)
                if error:
                    errors.append(error)
            if not dry_run:
                error = _write_back(outcome)
                if error:
                    errors.append(error)
                else:
                    written += 1
    except KeyboardInterrupt:
        click.echo(f"asyncfix: interrupted; {written} files written", err=True)
        sys.exit(EXIT_ERROR)
    unfixed = [f for f in result.findings if not f.fixable]
    if not quiet:
        for finding in result.findings if verbose else unfixed:
            click.echo(finding.format())
    _report_errors(sorted(set(errors)))
    result.summary.errors = len(set(errors))
    if not quiet:
        click.echo(result.summary.format(wrote=not dry_run), err=True)
    if errors:
        sys.exit(EXIT_ERROR)
    if (unfixed or (dry_run and changed)) and not exit_zero:
        sys.exit(EXIT_FOUND)


def _write_back(outcome: FileOutcome) -> FileError | None:
    path = outcome.file.path
    try:
        if path.read_bytes() != outcome.original:
            return FileError(
                outcome.file.display, 1, 1, "changed on disk during the run; not written"
            )
        assert outcome.new is not None
        atomic_write(path, outcome.new)
    except OSError as exc:
        return FileError(outcome.file.display, 1, 1, write_error_message(exc))
    return None


def _write_patch(patch_dir: Path, outcome: FileOutcome, old: str, new: str) -> FileError | None:
    display = outcome.file.display
    if os.path.isabs(display) or display.startswith("../"):
        return FileError(display, 1, 1, "outside the current directory; no patch written")
    try:
        patch_dir.mkdir(parents=True, exist_ok=True)
        target = patch_dir / (display.replace("/", "__") + ".patch")
        # The patch carries the file's own bytes: its encoding, BOM and line endings.
        atomic_write(target, unified_diff(display, old, new).encode(outcome.encoding))
    except OSError as exc:
        return FileError(display, 1, 1, f"cannot write patch: {exc.strerror or exc}")
    return None


@main.command()
@_run_options
@click.option(
    "--output-format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="text, JSON, SARIF 2.1.0 (code scanning) or GitHub workflow annotations.",
)
def check(
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    jobs: int | None,
    config_path: Path | None,
    quiet: bool,
    verbose: bool,
    exit_zero: bool,
    output_format: str,
) -> None:
    """Report every finding without writing; exit 1 if there is any."""
    config = _load(paths, config_path, select, ignore, exclude)
    try:
        result = _execute(paths, config, jobs, quiet or output_format != "text")
    except KeyboardInterrupt:
        click.echo("asyncfix: interrupted", err=True)
        sys.exit(EXIT_ERROR)
    if output_format == "json":
        click.echo(findings_json(result.findings, result.errors, result.summary))
    elif output_format == "sarif":
        click.echo(sarif_json(result.findings, result.errors, all_rules()))
    elif output_format == "github":
        click.echo(github_annotations(result.findings, result.errors), nl=False)
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    else:
        for finding in result.findings:
            click.echo(finding.format())
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    if output_format != "github":
        _report_errors(result.errors)
    if result.errors:
        sys.exit(EXIT_ERROR)
    if result.findings and not exit_zero:
        sys.exit(EXIT_FOUND)


@main.command(name="list")
def list_() -> None:
    """The codemods in the order they run, with their rule codes and summaries."""
    try:
        codemods = all_codemods()
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from exc
    for position, codemod in enumerate(codemods, 1):
        click.echo(f"{position}. {codemod.FAMILY}/{codemod.NAME}")
        for rule in codemod.RULES:
            click.echo(f"   {rule.code}  {rule.summary}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Why a rule matters, what the fix is, and a before/after example."""
    rules = all_rules()
    if code.upper() not in rules:
        raise click.UsageError(f"unknown rule code {code!r}; `asyncfix list` shows them")
    codemod, rule = rules[code.upper()]
    click.echo(f"{rule.code} ({rule.name}, family {codemod.FAMILY}): {rule.summary}\n")
    click.echo(f"Why it matters:\n  {rule.why}\n")
    click.echo(f"The fix:\n  {rule.fix}\n")
    click.echo("Before:\n" + _indent(rule.before))
    if rule.after != rule.before:
        click.echo("After:\n" + _indent(rule.after))
    else:
        click.echo("(reported for manual review; not rewritten)")


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in code.splitlines())
