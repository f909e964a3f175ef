"""What `apply` does with the changes: make them, review them, write patches, write the files.

Every change (a rewritten file, its annotations, a dependency list) is a `Change`, so the
diff, the patches, `--interactive` and the atomic writes treat them all the same way.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asyncfix.annotations import MARKER, annotate, strip_annotations
from asyncfix.config import Config
from asyncfix.driver import IN_PROCESS_BYTES
from asyncfix.files import (
    SourceError,
    SourceFile,
    atomic_write,
    decode,
    discover,
    read_bytes,
    write_error_message,
)
from asyncfix.formatting import format_change
from asyncfix.patches import CodeOwners, group_name, patch_file_name, unified_diff
from asyncfix.report import FileError, Finding
from asyncfix.signals import as_child, gather, kill_pool, stop_on_signals
from asyncfix.syntax import compiles

if TYPE_CHECKING:
    from asyncfix.driver import FileOutcome


@dataclass(frozen=True)
class Change:
    display: str  # the path as shown and as patches name it (relative to the cwd)
    path: Path
    original: bytes
    new: bytes
    encoding: str = "utf-8"

    @property
    def old_text(self) -> str:
        return self.original.decode(self.encoding, errors="surrogateescape")

    @property
    def new_text(self) -> str:
        return self.new.decode(self.encoding, errors="surrogateescape")

    def with_text(self, text: str) -> Change:
        return replace(self, new=text.encode(self.encoding, errors="surrogateescape"))

    def diff(self) -> str:
        return unified_diff(self.display, self.old_text, self.new_text)

    def patch_bytes(self) -> bytes:
        # The patch carries the file's own bytes: its encoding, BOM and line endings.
        return self.diff().encode(self.encoding, errors="surrogateescape")


# A file's last steps before it is written: its bytes, their encoding, the rewrite the
# pipeline verified (None: unchanged), the findings to annotate (None: no --annotate) and
# its path (the formatter reads the project's configuration for it).
_Finish = tuple[bytes, str, "bytes | None", "list[Finding] | None", Path]


def rewrites(
    outcomes: Sequence[FileOutcome],
    format_choice: str,
    pyproject: Path | None,
    *,
    annotated: bool,
    jobs: int | None,
) -> list[Change]:
    """The rewrite of each file, formatted (`--format`) and annotated (`--annotate`) as
    asked. Raises FormatError when `--format black` cannot run."""
    todo: list[tuple[FileOutcome, _Finish]] = []
    for outcome in outcomes:
        if outcome.original is None or outcome.errors:
            continue
        if not outcome.changed and not (annotated and any(not f.fixable for f in outcome.findings)):
            continue
        verified = outcome.new if outcome.changed else None
        notes = outcome.findings if annotated else None
        task = (outcome.original, outcome.encoding, verified, notes, outcome.file.path)
        todo.append((outcome, task))
    finished = _finish_all([task for _, task in todo], format_choice, pyproject, jobs)
    changes = []
    for (outcome, (data, encoding, *_)), new in zip(todo, finished, strict=True):
        if new != data:
            changes.append(Change(outcome.file.display, outcome.file.path, data, new, encoding))
    return changes


def _finish(task: _Finish, choice: str, pyproject: Path | None) -> bytes:
    """The file's new bytes: annotated, formatted, and still compiling where it did."""
    data, encoding, verified, notes, path = task
    original = data.decode(encoding)
    text = verified.decode(encoding) if verified is not None else original
    if notes is not None:
        text = annotate(original, text, notes)
    if verified is not None:
        text = format_change(original, text, choice, pyproject, path)
    try:
        new = text.encode(encoding)
        if compiles(data) and not compiles(new):
            raise SyntaxError
    except (UnicodeEncodeError, SyntaxError):
        # Never break code: what the pipeline verified stands without the extras.
        new = verified if verified is not None else data
    return new


def _finish_all(
    tasks: list[_Finish], choice: str, pyproject: Path | None, jobs: int | None
) -> list[bytes]:
    """_finish of each task, in order. black costs ~0.1 s a file, so many files are
    formatted in forked processes, one per core (--jobs); so is a large file, whatever
    the format: black and compile() hold a large file for seconds in native code, deaf
    to signals, and a worker can be killed at once (see asyncfix/signals.py)."""
    workers = min(len(tasks), jobs or os.cpu_count() or 1)
    many = choice != "none" and workers >= 2 and len(tasks) >= 4
    large = any(len(task[0]) > IN_PROCESS_BYTES for task in tasks)
    if not (many or large) or "fork" not in multiprocessing.get_all_start_methods():
        return [_finish(task, choice, pyproject) for task in tasks]
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max(1, workers), mp_context=context, initializer=as_child)
    try:
        with stop_on_signals() as stop:  # (a signal during the forks would be lost)
            done = gather([pool.submit(_finish, t, choice, pyproject) for t in tasks], stop)
    except BaseException:
        kill_pool(pool)
        raise
    pool.shutdown()
    return done


def stripped(
    paths: Sequence[Path], config: Config
) -> tuple[list[Change], list[FileError], list[SourceFile]]:
    """`apply --strip-annotations`: every file under `paths` without its --annotate lines
    (and the files it read)."""
    files, errors = discover(paths, config.exclude, base=config.root, force=config.force_exclude)
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
    return changes, errors, files


def deliver(
    changes: Sequence[Change],
    written: list[Change],
    *,
    show_diffs: bool,
    write: bool,
    patch: Path | None,
    patch_dir: Path | None,
    split_by: str | None,
) -> list[FileError]:
    """Print the diffs, write the patches asked for, then (`write`) each file atomically.
    `written` gets each change written: read it after an interrupt too (the files before
    it are written, none is half-written)."""
    if show_diffs:
        for change in changes:
            click.echo(change.diff(), nl=False)
    # A signal stops the writes between two files, never between a write and its count.
    with stop_on_signals(patient=True) as stop:
        errors = write_patches(changes, patch=patch, patch_dir=patch_dir, split_by=split_by)
        for change in changes if write else ():
            if stop.is_set():
                break
            error = write_back(change)
            if error:
                errors.append(error)
            else:
                written.append(change)
    return errors


def _patchable(change: Change) -> bool:
    return not (os.path.isabs(change.display) or change.display.startswith("../"))


def write_back(change: Change) -> FileError | None:
    try:
        if change.path.read_bytes() != change.original:
            return FileError(change.display, 1, 1, "changed on disk during the run; not written")
        atomic_write(change.path, change.new)
    except OSError as exc:
        return FileError(change.display, 1, 1, write_error_message(exc))
    return None


def write_patches(
    changes: Sequence[Change],
    *,
    patch: Path | None,
    patch_dir: Path | None,
    split_by: str | None,
) -> list[FileError]:
    """`--patch FILE` (one combined patch) and `--patch-dir DIR` (one per file, or one per
    owner / top-level directory with `--split-by`). Paths outside the cwd are refused."""
    errors: list[FileError] = []
    usable = []
    for change in changes:
        if _patchable(change):
            usable.append(change)
        elif patch is not None or patch_dir is not None:
            errors.append(
                FileError(change.display, 1, 1, "outside the current directory; no patch written")
            )
    targets: dict[Path, list[Change]] = {}
    if patch is not None:
        targets[patch] = list(usable)
    if patch_dir is not None:
        if split_by is None:
            for change in usable:
                targets[patch_dir / (change.display.replace("/", "__") + ".patch")] = [change]
        else:
            owners = CodeOwners.find(Path.cwd()) if split_by == "codeowners" else None
            if split_by == "codeowners" and owners is None:
                click.echo(
                    "asyncfix: no CODEOWNERS here (.github/, the top, docs/): "
                    "every change goes to unowned.patch",
                    err=True,
                )
            groups: dict[str, list[Change]] = {}
            for change in usable:
                groups.setdefault(group_name(change.display, split_by, owners), []).append(change)
            names: set[str] = set()
            for group in sorted(groups):
                name = patch_file_name(group)
                stem, n = name[: -len(".patch")], 2
                while name in names:  # two groups whose names sanitize alike
                    name, n = f"{stem}-{n}.patch", n + 1
                names.add(name)
                targets[patch_dir / name] = groups[group]
    for target, members in targets.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, b"".join(c.patch_bytes() for c in members))
        except OSError as exc:
            errors.append(
                FileError(str(target), 1, 1, f"cannot write patch: {exc.strerror or exc}")
            )
    return errors


# -- --interactive ----------------------------------------------------------------------

ACCEPT, SKIP, EDIT, QUIT = "a", "s", "e", "q"
_PROMPT = "Apply this change? [a]ccept, [s]kip, [e]dit in $EDITOR, [q]uit"


def edit_in_editor(change: Change, edit: Callable[[str], None] | None = None) -> Change:
    """The change as the user left it in $EDITOR (a temporary copy; bytes kept as they are)."""
    suffix = Path(change.display).suffix or ".txt"
    fd, tmp = tempfile.mkstemp(prefix="asyncfix-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(change.new)
        (edit or _launch_editor)(tmp)
        with open(tmp, "rb") as fh:
            return replace(change, new=fh.read())
    finally:
        os.unlink(tmp)


def _launch_editor(path: str) -> None:
    click.edit(filename=path)


def _problem(change: Change) -> str | None:
    if not change.display.endswith((".py", ".pyi")):
        return None
    try:
        compile(change.new, change.display, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return f"the edited file does not compile: {getattr(exc, 'msg', exc)}{where}"
    return None


def review(changes: Sequence[Change]) -> list[Change]:
    """Show each change and ask; returns the accepted ones (as edited)."""
    accepted: list[Change] = []
    for number, change in enumerate(changes, 1):
        current = change
        while True:
            click.echo(f"\n[{number}/{len(changes)}] {current.display}")
            click.echo(current.diff(), nl=False)
            answer = click.prompt(
                _PROMPT,
                type=click.Choice([ACCEPT, SKIP, EDIT, QUIT], case_sensitive=False),
                show_choices=False,
            ).lower()
            if answer == ACCEPT:
                accepted.append(current)
                break
            if answer == SKIP:
                break
            if answer == QUIT:
                return accepted
            edited = edit_in_editor(current)
            problem = _problem(edited)
            if problem is not None:
                click.echo(f"asyncfix: {problem}; keeping the previous version", err=True)
            elif edited.new == edited.original:
                click.echo("asyncfix: the edit undoes the change; skipping it", err=True)
                break
            else:
                current = edited
    return accepted
