"""The command line: a thin layer over the driver that formats and writes."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from asyncfix import __version__
from asyncfix.codemods import (
    RegistryError,
    all_codemods,
    all_rules,
    every_rule,
    known_selector,
    prerequisites,
    resolve_selection,
)
from asyncfix.config import Config, ConfigError, find_pyproject, load_config
from asyncfix.driver import (
    FileOutcome,
    ProjectView,
    RunResult,
    fix_of,
    project_view,
    run,
    run_source,
)
from asyncfix.files import (
    SourceFile,
    display_path,
    force_excluded,
    remove_leftovers,
)
from asyncfix.formatting import FORMATS, FormatError
from asyncfix.patches import SPLITS
from asyncfix.project import project_root
from asyncfix.report import (
    FileError,
    Finding,
    Summary,
    findings_json,
    github_annotations,
    statistics,
)
from asyncfix.shard import parse_shard
from asyncfix.suppressions import (
    Suppressions,
    may_name_codes,
    silences,
    suppressions_for,
    unknown_codes,
)

if TYPE_CHECKING:
    # The rewriting and reporting layers each command needs are imported by that command:
    # `check FILE`, as pre-commit runs it, pays for none of them.
    from asyncfix.profiles import Share
    from asyncfix.review import Change

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
        from asyncfix.profiles import parse_min_share

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
            "--force-exclude",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="Apply exclude patterns to files named on the command line too "
            "(and to --stdin-filename), as pre-commit needs.",
        ),
        click.option(
            "--stdin-filename",
            type=click.Path(path_type=Path, dir_okay=False),
            expose_value=False,
            callback=_remember,
            help="Read the source from stdin (PATH `-`), as this file: its configuration, "
            "its name in messages. apply writes the fixed source to stdout.",
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
            help="With --profile: only the findings with at least this share (e.g. 1%); "
            "apply leaves the sites of the others as written.",
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
    force = click.get_current_context().meta.get("asyncfix.force_exclude", False)
    return config.with_overrides(
        select=_split(select), ignore=_split(ignore), exclude=exclude, force_exclude=force
    )


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


def _stdin_file(paths: Sequence[Path]) -> SourceFile | None:
    """The file stdin stands for when the source comes from stdin (PATH `-`, or
    --stdin-filename without paths), else None."""
    name: Path | None = click.get_current_context().meta.get("asyncfix.stdin_filename")
    if Path("-") not in paths and (name is None or paths):
        if name is not None:
            raise click.UsageError("--stdin-filename reads stdin: give `-` as the only PATH")
        return None
    if len(paths) > 1:
        raise click.UsageError("`-` (stdin) must be the only PATH")
    if name is None:
        return SourceFile(Path.cwd() / "-", "-")
    return SourceFile(Path(os.path.abspath(name)), display_path(name))


def _run_stdin(file: SourceFile, config: Config, data: bytes | None = None) -> RunResult:
    if data is None:
        data = click.get_binary_stream("stdin").read()
    if config.force_exclude and force_excluded(file.path, config.exclude, config.root):
        return RunResult([FileOutcome(file, original=data)], [], Summary())
    try:
        # Planned in its project, as `run([file])` plans it: a fix that needs another
        # file changed is refused, not written half.
        return run_source(file, data, config, project=project_view(file, config))
    except (RegistryError, ConfigError) as exc:
        raise click.UsageError(str(exc)) from exc


def _apply_stdin(
    file: SourceFile, config: Config, format_choice: str, diff: bool, quiet: bool, exit_zero: bool
) -> None:
    """apply on stdin: the fixed source (or with --dry-run/--diff, the diff) to stdout;
    findings and the summary to stderr. On an error the source is echoed unchanged, so
    that an editor that replaces its buffer with the output loses nothing."""
    from asyncfix.review import rewrites

    result = _run_stdin(file, config)
    (outcome,) = result.outcomes
    findings, shares = _profiled(result, config)
    minimum = click.get_current_context().meta.get("asyncfix.min_share")
    if shares is not None and minimum is not None:
        source = outcome.original or b""
        result = _leave_below(
            minimum, shares, result, lambda c: _run_stdin(file, c, source), config
        )
    try:
        changes = rewrites(result.outcomes, format_choice, config.source, annotated=False, jobs=1)
    except FormatError as exc:
        raise click.UsageError(str(exc)) from exc
    if diff:
        click.echo("".join(change.diff() for change in changes), nl=False)
    else:
        out = click.get_binary_stream("stdout")
        out.write(changes[0].new if changes else outcome.original or b"")
        out.flush()
    unfixed = [f for f in findings if not f.fixable]
    if not quiet:
        for finding in unfixed:
            click.echo(_line(finding, shares), err=True)
    warn_unknown_suppressions(result)
    _report_errors(result.errors)
    result.summary.changed = len(changes)
    if not quiet:
        click.echo(result.summary.format(wrote=False), err=True)
    if result.errors:
        sys.exit(EXIT_ERROR)
    if (unfixed or (diff and changes)) and not exit_zero:
        sys.exit(EXIT_FOUND)


def _sarif_extras(result: RunResult, config: Config) -> tuple[dict[str, str], dict[Finding, str]]:
    """Each file's text (for fingerprints) and, for each fixable finding, the text after
    its fix alone (SARIF `fixes`): one more run of the pipeline per fixable finding."""
    sources: dict[str, str] = {}
    fixes: dict[Finding, str] = {}
    # Each fix is planned in the file's project, as the run was: a fix that needs another
    # file changed too is no SARIF fix of this file (one project view per project).
    views: dict[Path, ProjectView] = {}
    for outcome in result.outcomes:
        if outcome.original is None or not outcome.findings:
            continue
        sources[outcome.file.display] = outcome.original.decode(outcome.encoding, "replace")
        root = project_root([outcome.file.path])
        view = views.get(root) if root is not None else None
        for finding in outcome.findings if not outcome.errors else ():
            if not finding.fixable:
                continue
            if view is None:
                view = project_view(outcome.file, config)
                if root is not None:
                    views[root] = view
            fixed = fix_of(outcome.file, outcome.original, config, finding, outcome.findings, view)
            (alone,) = fixed.outcomes
            if alone.new is not None and not fixed.errors:
                fixes[finding] = alone.new.decode(alone.encoding)
    return sources, fixes


def warn_unknown_suppressions(result: RunResult) -> None:
    """A suppression naming no rule suppresses nothing: most likely a typo (AF230)."""
    for outcome in result.outcomes:
        data = outcome.original or b""
        if not may_name_codes(data):
            continue
        text = data.decode(outcome.encoding, "replace")
        for line, column, code in unknown_codes(text, known_selector):
            where = f"{outcome.file.display}:{line}:{column}"
            click.echo(
                f"{where}: warning: {code!r} in a suppression names no asyncfix rule", err=True
            )


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
    from asyncfix.profiles import ProfileError, profile_rules, rank_run

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
    # AF701/AF702 are selected, or ignored, like the pipeline's rules.
    enabled, profiled = resolve_selection(config.select, config.ignore), profile_rules()
    ranked = [f for f in ranked if f.code not in profiled or f.code in enabled]
    # ... and suppressed like them: a comment on the line, per-file-ignores.
    silenced = _silenced(result, config)
    ranked = [f for f in ranked if f.code not in profiled or not silenced(f)]
    result.summary.by_code.update(f.code for f in ranked if f.code in profiled)
    return ranked, shares


def _silenced(result: RunResult, config: Config) -> Callable[[Finding], bool]:
    """Is a finding made after the run (AF701/AF702) suppressed where the pipeline's own
    would be: by a comment on its line or the file's per-file-ignores?"""
    originals = {o.file.display: o for o in result.outcomes if o.original is not None}
    found: dict[str, Suppressions] = {}

    def silenced(finding: Finding) -> bool:
        outcome = originals.get(finding.path)
        if outcome is None or outcome.original is None:
            return False
        if finding.path not in found:
            text = outcome.original.decode(outcome.encoding, "replace")
            found[finding.path] = suppressions_for(text, finding.path, config)
        return silences(found[finding.path], finding.code, finding.family, (finding.line,))

    return silenced


def _leave_below(
    minimum: float,
    shares: dict[Finding, Share],
    result: RunResult,
    rerun: Callable[[Config], RunResult],
    config: Config,
) -> RunResult:
    """`apply --min-share`: the run again with each fixable finding below the share
    suppressed at its site, as `# asyncfix: ignore[CODE]` on its line would: its site
    is left as written, the sites that matter are fixed (in other files too, where
    their fix reaches), the rest of each file is untouched."""
    below = {(f.path, f.line, f.code) for f in result.findings if shares[f].key < minimum}
    if not any(f.fixable and (f.path, f.line, f.code) in below for f in result.findings):
        return result
    limited = rerun(replace(config, suppress=tuple(sorted(below))))
    # A fix that matters may build on one that does not (AF201's shared client on the
    # lifespan of AF301): in the files where one lost its fix, the sites of the codemods
    # its codemod runs after are fixed too, as the prerequisites they are.
    fixable = {(f.path, f.line, f.code) for f in limited.findings if f.fixable}
    lost = [f for f in result.findings if f.fixable and shares[f].key >= minimum]
    lost = [f for f in lost if (f.path, f.line, f.code) not in fixable]
    needed = {(f.path, code) for f in lost for code in prerequisites(f.code)}
    kept = {site for site in below if (site[0], site[2]) not in needed}
    if kept == below:
        return limited
    return rerun(replace(config, suppress=tuple(sorted(kept))))


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
    help="Lay out the rewritten lines: auto = only the rewritten statements, with the "
    "project's formatter (black or ruff format, from its configuration); black = the whole "
    "file with black; none = as the codemods wrote them.",
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Write a `# TODO(asyncfix CODE DIGEST): reason` comment above each finding left unfixed.",
)
@click.option(
    "--strip-annotations",
    is_flag=True,
    help="Only remove the --annotate comments (no codemod runs).",
)
@click.option(
    "--add-deps",
    is_flag=True,
    help="Add the packages the rewrites import, with the lower bound they need, to "
    "[project] dependencies, Poetry's dependencies or requirements*.txt.",
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
    stdin = _stdin_file(paths)
    if stdin is not None and (interactive or patch_file or patch_dir or annotate or add_deps):
        raise click.UsageError("stdin takes no --interactive, --patch*, --annotate, --add-deps")
    config = _load([stdin.path] if stdin else paths, config_path, select, ignore, exclude)
    if stdin is not None and not strip_annotations:
        _apply_stdin(stdin, config, format_choice, dry_run or show_diff, quiet, exit_zero)
        return
    from asyncfix.deps import dependency_changes
    from asyncfix.review import deliver, review, rewrites, stripped

    if strip_annotations:
        changes, errors, files = stripped(paths or [Path(".")], config)
        findings: list[Finding] = []
        shares: dict[Finding, Share] | None = None
        summary = Summary()
    else:
        try:
            result = _execute(paths, config, jobs, quiet)
        except KeyboardInterrupt:
            click.echo("asyncfix: interrupted; no file was written", err=True)
            sys.exit(EXIT_ERROR)
        (findings, shares), summary = _profiled(result, config), result.summary
        minimum = click.get_current_context().meta.get("asyncfix.min_share")
        if shares is not None and minimum is not None:
            try:
                result = _leave_below(
                    minimum, shares, result, lambda c: _execute(paths, c, jobs, quiet), config
                )
            except KeyboardInterrupt:
                click.echo("asyncfix: interrupted; no file was written", err=True)
                sys.exit(EXIT_ERROR)
        errors = list(result.errors)
        files = [outcome.file for outcome in result.outcomes]
        warn_unknown_suppressions(result)
        try:
            changes = rewrites(
                result.outcomes, format_choice, config.source, annotated=annotate, jobs=jobs
            )
        except FormatError as exc:
            raise click.UsageError(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("asyncfix: interrupted; no file was written", err=True)
            sys.exit(EXIT_ERROR)
        if add_deps and summary.packages:
            changes += dependency_changes(config.source, summary, errors)
    if not dry_run:
        # A run killed outright (SIGKILL) may have left its temporary files beside them.
        removed, leftovers = remove_leftovers(files)
        if removed and not quiet:
            names = ", ".join(display_path(p) for p in removed)
            click.echo(
                f"asyncfix: removed the temporary files of an interrupted run: {names}", err=True
            )
        errors += leftovers
        # A file an earlier in-place write may have left half written is not written again.
        suspect = {error.path for error in leftovers}
        changes = [c for c in changes if c.display not in suspect]
    changes.sort(key=lambda c: c.display)
    offered = len(changes)
    if interactive:
        try:
            changes = review(changes)
        except (KeyboardInterrupt, click.Abort):
            click.echo("\nasyncfix: interrupted; no file was written", err=True)
            sys.exit(EXIT_ERROR)
    written: list[Change] = []
    try:
        errors += deliver(
            changes,
            written,
            show_diffs=(dry_run or show_diff) and not interactive,
            write=not dry_run,
            patch=patch_file,
            patch_dir=patch_dir,
            split_by=split_by,
        )
    except KeyboardInterrupt:
        click.echo(f"asyncfix: interrupted; {len(written)} files written", err=True)
        sys.exit(EXIT_ERROR)
    unfixed = [f for f in findings if not f.fixable]
    if not quiet:
        for finding in findings if verbose else unfixed:
            click.echo(_line(finding, shares))
    _report_errors(sorted(set(errors)))
    summary.errors = len(set(errors))
    # What was written, not what was meant to be: a failed write is reported as an error.
    summary.changed = len(changes) if dry_run else len(written)
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


@main.command()
@_run_options
@click.option(
    "--output-format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="text, JSON, SARIF 2.1.0 (code scanning) or GitHub workflow annotations.",
)
@click.option(
    "--statistics",
    is_flag=True,
    expose_value=False,
    callback=_remember,
    help="Print the count of findings per rule instead of the findings (text format).",
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
    if click.get_current_context().meta.get("asyncfix.statistics") and output_format != "text":
        raise click.UsageError("--statistics prints text: not with --output-format")
    stdin = _stdin_file(paths)
    config = _load([stdin.path] if stdin else paths, config_path, select, ignore, exclude)
    try:
        if stdin is not None:
            result = _run_stdin(stdin, config)
        else:
            result = _execute(paths, config, jobs, quiet or output_format != "text")
    except KeyboardInterrupt:
        click.echo("asyncfix: interrupted", err=True)
        sys.exit(EXIT_ERROR)
    findings, shares = _profiled(result, config)
    if output_format == "json":
        click.echo(findings_json(findings, result.errors, result.summary, shares))
    elif output_format == "sarif":
        from asyncfix.sarif import sarif_json

        sources, fixes = _sarif_extras(result, config)
        rules = every_rule()
        click.echo(sarif_json(findings, result.errors, rules, sources, fixes, shares))
    elif output_format == "github":
        click.echo(github_annotations(findings, result.errors), nl=False)
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    elif click.get_current_context().meta.get("asyncfix.statistics"):
        names = {code: rule.name for code, (_, rule) in all_rules().items()}
        click.echo(statistics(result.findings, names), nl=False)
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    else:
        for finding in findings:
            click.echo(_line(finding, shares))
        if not quiet:
            click.echo(result.summary.format(wrote=False), err=True)
    warn_unknown_suppressions(result)
    if output_format != "github":
        _report_errors(result.errors)
    if result.errors:
        sys.exit(EXIT_ERROR)
    if findings and not exit_zero:
        sys.exit(EXIT_FOUND)


@main.command()
def server() -> None:
    """A language server over stdio (LSP): diagnostics, fixes and explanations in editors.

    Needs `pip install 'asyncfix[server]'`.
    """
    try:
        from asyncfix.server import main as serve
    except ImportError as exc:
        raise click.UsageError(
            f"the language server needs pygls: pip install 'asyncfix[server]' ({exc})"
        ) from exc
    serve()


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
    from asyncfix.profiles import profile_rules

    profiled = profile_rules()
    holder = next(iter(profiled.values()))[0]
    click.echo(f"{len(codemods) + 1}. {holder.FAMILY}/{holder.NAME} (with --profile; report only)")
    for code, (_, rule) in profiled.items():
        click.echo(f"   {code}  {rule.summary}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Why a rule matters, what the fix is, and a before/after example."""
    text = explanation(code)
    if text is None:
        raise click.UsageError(f"unknown rule code {code!r}; `asyncfix list` shows them")
    click.echo(text, nl=False)


def explanation(code: str) -> str | None:
    """What `asyncfix explain CODE` prints (the language server's hover too)."""
    rules = every_rule()
    if code.upper() not in rules:
        return None
    codemod, rule = rules[code.upper()]
    parts = [
        f"{rule.code} ({rule.name}, family {codemod.FAMILY}): {rule.summary}\n\n",
        f"Why it matters:\n  {rule.why}\n\n",
        f"The fix:\n  {rule.fix}\n\n",
        "Before:\n" + _indent(rule.before) + "\n",
    ]
    if rule.after != rule.before:
        parts.append("After:\n" + _indent(rule.after) + "\n")
    else:
        parts.append("(reported for manual review; not rewritten)\n")
    return "".join(parts)


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in code.splitlines())


# -- docs/cli.md's command reference is generated from the commands themselves ----------------

REFERENCE_START = "<!-- cli-reference: generated from `asyncfix --help`; do not edit -->"
REFERENCE_END = "<!-- cli-reference: end -->"


def reference(width: int = 78) -> str:
    """Every command's --help, as docs/cli.md shows it (tests/test_cli_reference.py).

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
