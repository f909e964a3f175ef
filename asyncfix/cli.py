"""The command line: a thin layer over the driver that formats and writes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from asyncfix import __version__
from asyncfix.annotations import MARKER, strip_annotations
from asyncfix.annotations import annotate as annotate_findings
from asyncfix.codemods import RegistryError, all_codemods, all_rules
from asyncfix.config import Config, ConfigError, find_pyproject, load_config
from asyncfix.deps import DepsError, add_dependencies
from asyncfix.driver import RunResult, run
from asyncfix.files import SourceError, decode, discover, display_path, read_bytes
from asyncfix.formatting import FORMATS, FormatError, format_change
from asyncfix.patches import SPLITS
from asyncfix.profiles import (
    ProfileError,
    Share,
    parse_min_share,
    profile_rules,
    rank_run,
)
from asyncfix.report import FileError, Finding, Summary, findings_json, github_annotations
from asyncfix.review import Change, review, write_back, write_patches
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
    if param.name == "min_share" and value is not None:
        try:
            value = parse_min_share(value)
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
        click.option(
            "--profile",
            multiple=True,
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            expose_value=False,
            callback=_remember,
            help="A py-spy profile (speedscope or raw) or asyncio debug log: rank the "
            "findings by their share of the event loop's time (repeatable).",
        ),
        click.option(
            "--profile-root",
            metavar="PREFIX",
            expose_value=False,
            callback=_remember,
            help="The profile's path for the project's directory (e.g. /app in a container); "
            "default: matched by the paths' common ends.",
        ),
        click.option(
            "--min-share",
            metavar="PERCENT",
            expose_value=False,
            callback=_remember,
            help="With --profile: only the findings with at least this share (e.g. 1%).",
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
    except (RegistryError, ConfigError) as exc:  # ConfigError: a family's own options
        raise click.UsageError(str(exc)) from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _report_errors(errors: Sequence[FileError]) -> None:
    for error in errors:
        click.echo(error.format(), err=True)


def _profiled(
    result: RunResult, config: Config
) -> tuple[list[Finding], dict[Finding, Share] | None]:
    """The findings ranked by --profile (with AF701/AF702 for what no rule covers) and
    limited by --min-share; as they are, with no shares, without --profile."""
    meta = click.get_current_context().meta
    profiles, minimum = meta.get("asyncfix.profile") or (), meta.get("asyncfix.min_share")
    if not profiles:
        if minimum is not None:
            raise click.UsageError("--min-share needs --profile")
        return result.findings, None
    files = {o.file.display: o.file.path for o in result.outcomes}
    base = config.source.parent if config.source is not None else Path.cwd()
    try:
        ranked, shares = rank_run(
            result.findings, files, profiles, meta.get("asyncfix.profile_root"), base
        )
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from exc
    if minimum is not None:
        ranked = [f for f in ranked if shares[f].key >= minimum]
    result.summary.by_code.update(f.code for f in ranked if f.code in profile_rules())
    return ranked, shares


def _line(finding: Finding, shares: dict[Finding, Share] | None) -> str:
    return finding.format() if shares is None else f"{shares[finding].format()}  {finding.format()}"


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
    "--interactive",
    "-i",
    is_flag=True,
    help="Show each file's diff and ask: accept, skip, edit in $EDITOR, quit.",
)
@click.option(
    "--patch",
    "patch_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write all the changes as one git-apply-able patch to this file.",
)
@click.option(
    "--patch-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one git-apply-able .patch per changed file here (see --split-by).",
)
@click.option(
    "--split-by",
    type=click.Choice(SPLITS),
    help="With --patch-dir: one patch per owner (CODEOWNERS) or per top-level directory.",
)
@click.option(
    "--format",
    "format_choice",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Format changed files with black: auto = only if the original was black-clean "
    "or the project configures [tool.black].",
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Write a `# TODO(asyncfix CODE): reason` comment above each finding left unfixed.",
)
@click.option(
    "--strip-annotations",
    is_flag=True,
    help="Only remove the --annotate comments (no codemod runs).",
)
@click.option(
    "--add-deps",
    is_flag=True,
    help="Add the packages the rewrites import to [project] dependencies or requirements*.txt.",
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
    interactive: bool,
    patch_file: Path | None,
    patch_dir: Path | None,
    split_by: str | None,
    format_choice: str,
    annotate: bool,
    strip_annotations: bool,
    add_deps: bool,
) -> None:
    """Rewrite files in place (or show what would change with --dry-run).

    PATHS are files and directories (default: the current directory). Codes, prefixes and
    families for --select/--ignore are comma-separated or repeated.
    """
    if split_by is not None and patch_dir is None:
        raise click.UsageError("--split-by needs --patch-dir")
    if interactive and dry_run:
        raise click.UsageError("--interactive and --dry-run exclude each other")
    if strip_annotations and (annotate or add_deps):
        raise click.UsageError("--strip-annotations runs alone (not with --annotate, --add-deps)")
    config = _load(paths, config_path, select, ignore, exclude)
    if strip_annotations:
        changes, errors = _stripped(paths, config)
        findings: list[Finding] = []
        shares: dict[Finding, Share] | None = None
        summary = Summary()
    else:
        try:
            result = _execute(paths, config, jobs, quiet)
        except KeyboardInterrupt:
            click.echo("asyncfix: interrupted; no file was written", err=True)
            sys.exit(EXIT_ERROR)
        errors = list(result.errors)
        (findings, shares), summary = _profiled(result, config), result.summary
        try:
            changes = _changes(result, config, format_choice, annotate, jobs)
        except FormatError as exc:
            raise click.UsageError(str(exc)) from exc
        if shares is not None and click.get_current_context().meta.get("asyncfix.min_share"):
            # --min-share: only the files with a finding that matters are rewritten.
            changes = [c for c in changes if c.display in {f.path for f in findings}]
        if add_deps and summary.packages:
            changes += _dependency_changes(config, summary, errors)
    changes.sort(key=lambda c: c.display)
    offered = len(changes)
    if interactive:
        try:
            changes = review(changes)
        except (KeyboardInterrupt, click.Abort):
            click.echo("\nasyncfix: interrupted; no file was written", err=True)
            sys.exit(EXIT_ERROR)
    written = 0
    try:
        if (dry_run or show_diff) and not interactive:
            for change in changes:
                click.echo(change.diff(), nl=False)
        errors += write_patches(changes, patch=patch_file, patch_dir=patch_dir, split_by=split_by)
        if not dry_run:
            for change in changes:
                error = write_back(change)
                if error:
                    errors.append(error)
                else:
                    written += 1
    except KeyboardInterrupt:
        click.echo(f"asyncfix: interrupted; {written} files written", err=True)
        sys.exit(EXIT_ERROR)
    unfixed = [f for f in findings if not f.fixable]
    if not quiet:
        for finding in findings if verbose else unfixed:
            click.echo(_line(finding, shares))
    _report_errors(sorted(set(errors)))
    summary.errors = len(set(errors))
    # What was written, not what was meant to be: a failed write is reported as an error.
    summary.changed = len(changes) if dry_run else written
    if not quiet:
        if strip_annotations:
            verb = "would change" if dry_run else "changed"
            click.echo(f"asyncfix: annotations removed; {len(changes)} files {verb}", err=True)
        else:
            click.echo(summary.format(wrote=not dry_run), err=True)
    if errors:
        sys.exit(EXIT_ERROR)
    # A change the user skipped in --interactive is left to do, like a finding.
    left = unfixed or (dry_run and changes) or len(changes) < offered
    if left and not exit_zero:
        sys.exit(EXIT_FOUND)


def _changes(
    result: RunResult, config: Config, format_choice: str, annotate: bool, jobs: int | None = 1
) -> list[Change]:
    """The rewrite of each file, formatted and annotated as asked."""
    todo = []
    for outcome in result.outcomes:
        if outcome.original is None or outcome.errors:
            continue
        if not outcome.changed and not (annotate and any(not f.fixable for f in outcome.findings)):
            continue
        original = outcome.original.decode(outcome.encoding)
        rewritten = outcome.new.decode(outcome.encoding) if outcome.new is not None else original
        text = rewritten
        if annotate:
            text = annotate_findings(original, text, outcome.findings)
        todo.append((outcome, original, text))
    formatted = _format_all(
        [(original, text) for outcome, original, text in todo if outcome.changed],
        format_choice,
        config.source,
        jobs,
    )
    changes = []
    for outcome, _, text in todo:
        if outcome.changed:
            text = next(formatted)
        data = outcome.original
        assert data is not None  # (files that could not be read are not in `todo`)
        change = Change(outcome.file.display, outcome.file.path, data, b"", outcome.encoding)
        try:
            new = text.encode(outcome.encoding)
            if _compiles(data) and not _compiles(new):
                raise SyntaxError
        except (UnicodeEncodeError, SyntaxError):
            # Never break code: what the pipeline verified stands without the extras.
            new = outcome.new if outcome.new is not None else data
        if new != data:
            changes.append(replace(change, new=new))
    return changes


def _format_all(
    texts: list[tuple[str, str]], choice: str, pyproject: Path | None, jobs: int | None
) -> Iterator[str]:
    """format_change of each (original, new), in order; black costs ~0.1 s a file, so
    many files are formatted in forked processes, one per core (--jobs)."""
    workers = min(len(texts), jobs or os.cpu_count() or 1)
    fork = "fork" in multiprocessing.get_all_start_methods()
    if choice == "none" or workers < 2 or len(texts) < 4 or not fork:
        return (format_change(old, new, choice, pyproject) for old, new in texts)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_format_worker) as pool:
        done = list(pool.map(_format_one, [(old, new, choice, pyproject) for old, new in texts]))
    return iter(done)


def _format_worker() -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _format_one(task: tuple[str, str, str, Path | None]) -> str:
    return format_change(*task)


def _compiles(data: bytes) -> bool:
    # compile() only builds a code object; nothing of the user's code runs.
    try:
        compile(data, "<asyncfix>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _stripped(paths: Sequence[Path], config: Config) -> tuple[list[Change], list[FileError]]:
    files, errors = discover(paths or [Path(".")], config.exclude)
    changes = []
    for file in files:
        try:
            data = read_bytes(file.path)
            if MARKER.encode() not in data:
                continue
            text, encoding = decode(data)
        except SourceError as exc:
            errors.append(FileError(file.display, exc.line, exc.column, exc.message))
            continue
        new = strip_annotations(text)
        if new != text:
            changes.append(Change(file.display, file.path, data, new.encode(encoding), encoding))
    return changes, errors


def _dependency_changes(config: Config, summary: Summary, errors: list[FileError]) -> list[Change]:
    project_dir = config.source.parent if config.source is not None else Path.cwd()
    try:
        edit = add_dependencies(project_dir, summary.packages)
    except DepsError as exc:
        errors.append(FileError(display_path(project_dir / "pyproject.toml"), 1, 1, str(exc)))
        return []
    if edit is None:
        return []
    summary.packages = set()  # declared now: the summary need not list them
    click.echo(f"asyncfix: adding to {display_path(edit.path)}: {', '.join(edit.added)}", err=True)
    return [Change(display_path(edit.path), edit.path, edit.original, edit.new)]


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
    """Report every finding without writing; exit 1 if there is any.

    PATHS are files and directories (default: the current directory).
    """
    config = _load(paths, config_path, select, ignore, exclude)
    try:
        result = _execute(paths, config, jobs, quiet or output_format != "text")
    except KeyboardInterrupt:
        click.echo("asyncfix: interrupted", err=True)
        sys.exit(EXIT_ERROR)
    findings, shares = _profiled(result, config)
    if output_format == "json":
        click.echo(findings_json(findings, result.errors, result.summary, shares))
    elif output_format == "sarif":
        rules = {**all_rules(), **profile_rules()}
        click.echo(sarif_json(findings, result.errors, rules, shares))
    elif output_format == "github":
        click.echo(github_annotations(findings, result.errors), nl=False)
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    else:
        for finding in findings:
            click.echo(_line(finding, shares))
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    if output_format != "github":
        _report_errors(result.errors)
    if result.errors:
        sys.exit(EXIT_ERROR)
    if findings and not exit_zero:
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
    # Not a codemod of the pipeline: its findings come from --profile (asyncfix/profiles.py).
    profiled = profile_rules()
    holder = next(iter(profiled.values()))[0]
    click.echo(f"{len(codemods) + 1}. {holder.FAMILY}/{holder.NAME} (with --profile; report only)")
    for code, (_, rule) in profiled.items():
        click.echo(f"   {code}  {rule.summary}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Why a rule matters, what the fix is, and a before/after example."""
    rules = {**all_rules(), **profile_rules()}
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


# -- the README's command reference is generated from the commands themselves ----------------

REFERENCE_START = "<!-- cli-reference: generated from `asyncfix --help`; do not edit -->"
REFERENCE_END = "<!-- cli-reference: end -->"


def reference(width: int = 78) -> str:
    """Every command's --help, as the README shows it (tests/test_cli_reference.py).

    78 columns: what click prints on any terminal at least 80 wide.
    """
    root = click.Context(
        main,
        info_name="asyncfix",
        terminal_width=width,
        max_content_width=width,
        help_option_names=["-h", "--help"],
    )
    parts = [REFERENCE_START, "", "```text", main.get_help(root), "```"]
    for name in ("apply", "check", "list", "explain"):
        command = main.commands[name]
        ctx = click.Context(
            command, info_name=name, parent=root, terminal_width=width, max_content_width=width
        )
        parts += ["", f"#### `asyncfix {name}`", "", "```text", command.get_help(ctx), "```"]
    return "\n".join([*parts, "", REFERENCE_END])
