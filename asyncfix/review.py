"""What `apply` does with the changes: make them, review them, write patches, write the files.

Every change (a rewritten file, its annotations, a dependency list) is a `Change`, so the
diff, the patches, `--interactive` and the atomic writes treat them all the same way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asyncfix.annotations import MARKER, annotate, strip_annotations
from asyncfix.files import (
    SourceError,
    atomic_write,
    decode,
    discover,
    read_bytes,
    write_error_message,
)
from asyncfix.formatting import format_all
from asyncfix.patches import CodeOwners, group_name, patch_file_name, unified_diff
from asyncfix.report import FileError
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
    todo = []
    for outcome in outcomes:
        if outcome.original is None or outcome.errors:
            continue
        if not outcome.changed and not (annotated and any(not f.fixable for f in outcome.findings)):
            continue
        original = outcome.original.decode(outcome.encoding)
        rewritten = outcome.new.decode(outcome.encoding) if outcome.new is not None else original
        text = rewritten
        if annotated:
            text = annotate(original, text, outcome.findings)
        todo.append((outcome, original, text))
    formatted = format_all(
        [(original, text) for outcome, original, text in todo if outcome.changed],
        format_choice,
        pyproject,
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
            if compiles(data) and not compiles(new):
                raise SyntaxError
        except (UnicodeEncodeError, SyntaxError):
            # Never break code: what the pipeline verified stands without the extras.
            new = outcome.new if outcome.new is not None else data
        if new != data:
            changes.append(replace(change, new=new))
    return changes


def stripped(paths: Sequence[Path], exclude: Sequence[str]) -> tuple[list[Change], list[FileError]]:
    """`apply --strip-annotations`: every file under `paths` without its --annotate lines."""
    files, errors = discover(paths, exclude)
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
    errors = write_patches(changes, patch=patch, patch_dir=patch_dir, split_by=split_by)
    for change in changes if write else ():
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
