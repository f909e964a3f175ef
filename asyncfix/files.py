"""Finding the files to process, decoding them exactly, and writing them back atomically."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from asyncfix.report import FileError

DEFAULT_EXCLUDES = frozenset(
    {
        ".venv",
        "venv",
        "build",
        "dist",
        ".git",
        "__pycache__",
        "node_modules",
        "site-packages",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".asyncfix_cache",
    }
)


@dataclass(frozen=True)
class SourceFile:
    path: Path  # where it is read from and written to
    display: str  # how it is shown: relative to the working directory when inside it


def display_path(path: Path) -> str:
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


class _GitIgnores:
    """The .gitignore files from the repository root down, matched with git's semantics."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            spec = None
            ignore_file = directory / ".gitignore"
            try:
                if ignore_file.is_file():
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except OSError:
                spec = None
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, top: Path, is_dir: bool) -> bool:
        # The deepest .gitignore with a matching pattern decides, as in git.
        for directory in [path.parent, *path.parent.parents]:
            spec = self._spec(directory)
            if spec is not None:
                rel = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
                result = spec.check_file(rel)
                if result.include is not None:
                    return bool(result.include)
            if directory == top:
                break
        return False


def _repo_top(start: Path) -> Path:
    """The git work tree containing `start`, or `start` itself outside of git."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def discover(
    paths: Sequence[Path], excludes: Sequence[str] = ()
) -> tuple[list[SourceFile], list[FileError]]:
    """Python files under `paths`, sorted, without duplicates.

    Directories skip DEFAULT_EXCLUDES, `excludes` (gitignore-style patterns relative to
    the directory given) and whatever .gitignore files ignore. Symbolic links met while
    walking are not followed; a file named on the command line is always taken.
    """
    user = pathspec.GitIgnoreSpec.from_lines(excludes)
    gitignores = _GitIgnores()
    found: dict[Path, SourceFile] = {}
    errors: list[FileError] = []
    for given in paths:
        if not given.exists():
            errors.append(FileError(given.as_posix(), 1, 1, "no such file or directory"))
            continue
        if given.is_file():
            real = Path(os.path.realpath(given))
            found.setdefault(real, SourceFile(real, display_path(given)))
            continue
        root = given.absolute()
        top = _repo_top(root.resolve())
        for file in _walk(root, root.resolve(), top, user, gitignores, errors):
            found.setdefault(file, SourceFile(file, display_path(file)))
    return sorted(found.values(), key=lambda f: f.display), errors


def _walk(
    root: Path,
    real_root: Path,
    top: Path,
    user: pathspec.GitIgnoreSpec,
    gitignores: _GitIgnores,
    errors: list[FileError],
) -> Iterator[Path]:
    def onerror(exc: OSError) -> None:
        errors.append(FileError(display_path(Path(exc.filename)), 1, 1, _os_message(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        here = Path(dirpath)
        real_here = real_root / here.relative_to(root)
        keep = []
        for name in sorted(dirnames):
            rel = (here / name).relative_to(root).as_posix() + "/"
            if (
                name in DEFAULT_EXCLUDES
                or (here / name).is_symlink()
                or user.match_file(rel)
                or gitignores.ignored(real_here / name, top, is_dir=True)
            ):
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() or user.match_file(rel):
                continue
            if gitignores.ignored(real_here / name, top, is_dir=False):
                continue
            yield path


def _os_message(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


class SourceError(Exception):
    """A file that cannot be read as Python source; carries a position for the report."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(1, 1, f"cannot read: {_os_message(exc)}") from exc


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def decode(data: bytes) -> tuple[str, str]:
    """The text and the declared encoding (PEP 263 cookie or BOM), or SourceError.

    A BOM stays in the text (as U+FEFF) so that diffs and patches reproduce the bytes.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(exc.lineno or 1, 1, str(exc.msg)) from exc
    nul = data.find(b"\0")
    if nul >= 0:
        raise SourceError(*_line_col(data, nul), "source contains a NUL byte")
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        line, column = _line_col(data, exc.start)
        raise SourceError(line, column, f"not valid {encoding}: {exc.reason}") from exc


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` through a temporary file in the same directory.

    The file's permission bits are kept; a reader (or an interrupted run) sees the old
    content or the new one, never half of either.
    """
    if path.exists():
        mode = stat.S_IMODE(os.stat(path).st_mode)
        # A file its owner made read-only stays untouched, even for root.
        if not os.access(path, os.W_OK) or not mode & stat.S_IWUSR:
            raise PermissionError(13, "permission denied", str(path))
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".asyncfix")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_error_message(exc: OSError) -> str:
    return f"cannot write: {_os_message(exc)}"
