"""Finding the files to process, decoding them exactly, and writing them back atomically."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import tempfile
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from asyncfix.report import FileError
from asyncfix.warm import DEFAULT_EXCLUDES as DEFAULT_EXCLUDES  # (the warm path reads it)
from asyncfix.warm import walked

# What discovery read, while a caller traces it (see `traced`): the listing of each
# directory walked and the text of each .gitignore consulted.
_trace: list[tuple[Any, ...]] | None = None


@contextlib.contextmanager
def traced() -> Iterator[list[tuple[Any, ...]]]:
    """Record what `discover` reads: `("walk", dirpath, dirnames, filenames)` as os.walk
    listed them (see warm.walked: only the names the walk looks at) and `("gitignore",
    directory, text or None)`. asyncfix/warm.py keeps them to tell, without matching any
    pattern, that a new walk would find the same files."""
    global _trace
    saved, _trace = _trace, []
    try:
        yield _trace
    finally:
        _trace = saved


# Larger files are skipped with an error: generated code, data dumps, vendored bundles.
MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    path: Path  # where it is read from and written to
    display: str  # how it is shown: relative to the working directory when inside it
    # Named on the command line (not found by walking a directory): it must be Python.
    named: bool = field(default=False, compare=False)


def display_path(path: str | os.PathLike[str]) -> str:
    # abspath folds `..` without resolving links: `src/../../x.py` is shown (and patched)
    # as the absolute path it is, never as a relative path that climbs out of the cwd.
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    # (on strings when both are plain absolute paths: pathlib's objects cost 0.05 s per
    # 1,800 files; a root or a `//` prefix is left to pathlib's rules)
    if cwd != "/" and not cwd.startswith("//"):
        if absolute.startswith(cwd) and absolute[len(cwd) : len(cwd) + 1] == "/":
            return absolute[len(cwd) + 1 :]
        if absolute == cwd:
            return "."
    try:
        return Path(absolute).relative_to(Path(cwd)).as_posix()
    except ValueError:
        return Path(absolute).as_posix()


def _child(directory: str, name: str) -> str:
    """`Path(directory) / name` as str() spells it, for an absolute `directory` so spelt."""
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _ancestors(directory: str, top: str) -> list[tuple[str, str]]:
    """(`directory` and each directory above it up to `top` included, or to the file
    system's root; `directory` relative to it, with a trailing slash, "" for itself), for
    absolute paths spelt as str(Path) spells them: what `[d, *d.parents]` gives."""
    found = [(directory, "")]
    current = directory
    while current != top:
        parent = os.path.dirname(current)  # ("/a" -> "/", "//a" -> "//", as Path.parent)
        if parent == current:
            break
        found.append((parent, directory[len(parent) :].lstrip("/") + "/"))
        current = parent
    return found


class _GitIgnores:
    """The .gitignore files from the repository root down, matched with git's semantics."""

    def __init__(self) -> None:
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            spec = None
            lines: list[str] | None = None
            ignore_file = Path(directory) / ".gitignore"
            try:
                if ignore_file.is_file():
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except OSError:
                lines, spec = None, None
            if _trace is not None:
                text = None if lines is None else "\n".join(lines)
                _trace.append(("gitignore", directory, text))
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, name: str, above: Sequence[tuple[str, str]], is_dir: bool) -> bool:
        """Is the entry `name` of a directory ignored; `above`: `_ancestors` of that
        directory up to the repository's top. The deepest .gitignore with a matching
        pattern decides, as in git."""
        for directory, prefix in above:
            spec = self._spec(directory)
            if spec is not None:
                result = spec.check_file(prefix + name + ("/" if is_dir else ""))
                if result.include is not None:
                    return bool(result.include)
        return False


def _repo_top(start: Path) -> Path:
    """The git work tree containing `start`, or `start` itself outside of git."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def discover(
    paths: Sequence[Path],
    excludes: Sequence[str] = (),
    *,
    base: Path | None = None,
    force: bool = False,
    real_paths: dict[Path, str] | None = None,
) -> tuple[list[SourceFile], list[FileError]]:
    """Python files under `paths`, sorted, without duplicates.

    Directories skip DEFAULT_EXCLUDES, `excludes` (gitignore-style patterns relative to
    `base`, the configuration's directory, for what is under it; else relative to the
    directory given) and whatever .gitignore files ignore. Symbolic links met while
    walking are not followed; a file named on the command line is always taken, unless
    `force` (--force-exclude): then `excludes` and DEFAULT_EXCLUDES apply to it too.
    `real_paths`, if given, receives `os.path.realpath` of each file found by walking, which the
    walk knows without asking the file system again.
    """
    user = _Excludes(excludes, base)
    gitignores = _GitIgnores()
    found: dict[Path, SourceFile] = {}
    errors: list[FileError] = []
    given_ok = []
    for given in paths:
        problem = _stat_problem(given)
        if problem is not None:
            errors.append(FileError(given.as_posix(), 1, 1, problem))
        else:
            given_ok.append(given)
    roots = [Path(os.path.realpath(given)) for given in given_ok]
    for given in given_ok:
        if given.is_file():
            real = Path(os.path.realpath(given))
            if not (force and user.forced_out(given)):
                found.setdefault(real, SourceFile(real, display_path(given), named=True))
            continue
        root = given.absolute()
        top = _repo_top(root.resolve())
        for file, resolved in _walk(root, root.resolve(), top, user, gitignores, errors, roots):
            if file not in found:
                found[file] = SourceFile(file, display_path(file))
                if real_paths is not None:
                    real_paths[file] = resolved
    return sorted(found.values(), key=lambda f: f.display), errors


class _Excludes:
    """The user's exclude patterns, matched from `base` for paths under it (as ruff
    matches them from the configuration's directory), else from the walked root."""

    def __init__(self, patterns: Sequence[str], base: Path | None) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.base = Path(os.path.realpath(base)) if base is not None else None
        self._base = None if self.base is None else str(self.base)
        self._under = None if self._base is None else _child(self._base, "")
        self._none = not self.spec.patterns  # (nothing to match: no string to build)

    def match(self, real: str, rel: str) -> bool:
        """`real`: the resolved path (spelt as str(Path) spells it); `rel`: it relative to
        the walked root."""
        if self._none:
            return False
        if self._under is not None and (real == self._base or real.startswith(self._under)):
            own = "." if real == self._base else real[len(self._under) :]
            rel = own + ("/" if rel.endswith("/") else "")
        return self.spec.match_file(rel)

    def forced_out(self, given: Path) -> bool:
        """A file named on the command line, under --force-exclude: excluded by a
        pattern, or inside an excluded or default-excluded directory."""
        real = Path(os.path.realpath(given))
        base = self.base or Path(os.path.realpath(Path.cwd()))
        parts = real.relative_to(base).parts if base in real.parents else (real.name,)
        if any(part in DEFAULT_EXCLUDES for part in parts[:-1]):
            return True
        return any(
            self.spec.match_file("/".join(parts[:n]) + "/") for n in range(1, len(parts))
        ) or self.spec.match_file("/".join(parts))


def force_excluded(path: Path, excludes: Sequence[str], base: Path | None) -> bool:
    """What --force-exclude decides for a file named on the command line (or stdin's)."""
    return _Excludes(excludes, base).forced_out(path)


def _stat_problem(path: Path) -> str | None:
    """Why `path` (followed if a link) cannot be taken, or None."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "broken symbolic link"
        return _os_message(exc)
    return None


def _symlink_problem(link: Path, roots: Sequence[Path]) -> str | None:
    """A link met while walking is never followed. Pointing inside the given paths it is
    skipped quietly (its target is reached directly); a loop, a broken link or a link out
    of the given paths is reported, so that nothing is silently left out."""
    problem = _stat_problem(link)
    if problem is not None:
        return f"{problem}; not followed"
    target = Path(os.path.realpath(link))
    if any(target == root or root in target.parents for root in roots):
        return None
    return f"symbolic link to {target.as_posix()}, outside the given paths; not followed"


def _walk(
    root: Path,
    real_root: Path,
    top: Path,
    user: _Excludes,
    gitignores: _GitIgnores,
    errors: list[FileError],
    roots: Sequence[Path] = (),
) -> Iterator[tuple[Path, str]]:
    """(each file, its resolved path): no link is followed, so that is the resolved root
    and the path below it. On strings, once per directory where it can be: pathlib's
    objects for every entry cost more than the walk itself (0.2 s on 1,800 files)."""

    def onerror(exc: OSError) -> None:
        errors.append(FileError(display_path(Path(exc.filename)), 1, 1, _os_message(exc)))

    start = str(root)
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        if _trace is not None:
            _trace.append(("walk", dirpath, *walked(dirnames, filenames)))
        # (os.walk joins the names to `start`: the rest of `dirpath` is below it)
        below = dirpath[len(start) :].lstrip("/")
        prefix = below + "/" if below else ""
        real_here = _child(str(real_root), below) if below else str(real_root)
        above = _ancestors(real_here, str(top))
        keep = []
        for name in sorted(dirnames):
            real = _child(real_here, name)
            if (
                name in DEFAULT_EXCLUDES
                or user.match(real, f"{prefix}{name}/")
                or gitignores.ignored(name, above, is_dir=True)
            ):
                continue
            if _is_symlink(_child(dirpath, name)):
                _report_link(Path(dirpath) / name, roots, errors)
                continue
            keep.append(name)
        dirnames[:] = keep
        here: Path | None = None
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            real = _child(real_here, name)
            if user.match(real, prefix + name) or gitignores.ignored(name, above, is_dir=False):
                continue
            if here is None:
                here = Path(dirpath)
            if _is_symlink(_child(dirpath, name)):
                _report_link(here / name, roots, errors)
                continue
            yield here / name, real


# What Path.is_symlink takes for "no": any other error is raised, as pathlib raises it.
_NO_LINK_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


def _is_symlink(path: str) -> bool:
    """`Path(path).is_symlink()`, without making the Path."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError as exc:
        if exc.errno not in _NO_LINK_ERRNOS:
            raise
        return False
    except ValueError:
        return False


def _report_link(link: Path, roots: Sequence[Path], errors: list[FileError]) -> None:
    problem = _symlink_problem(link, roots)
    if problem is not None:
        errors.append(FileError(display_path(link), 1, 1, problem))


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
    """The file's bytes; SourceError for anything but a regular file of sane size."""
    limit = f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; skipped"
    try:
        info = os.stat(path)
        # A FIFO or a device named .py would block (even open() does) or never end.
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(1, 1, "not a regular file; skipped")
        if info.st_size > MAX_FILE_BYTES:
            raise SourceError(1, 1, limit)
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # it may have grown since
    except OSError as exc:
        raise SourceError(1, 1, f"cannot read: {_os_message(exc)}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(1, 1, limit)
    return data


def check_text(data: bytes) -> None:
    """SourceError for bytes that cannot be Python source whatever the encoding: a NUL
    byte (binary files named .py, UTF-16). Cheap enough to run before any screening."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise SourceError(*_line_col(data, nul), "source contains a NUL byte")


PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")


def check_named(file: SourceFile, data: bytes) -> None:
    """SourceError for a file named on the command line that is not Python by its name:
    a linter given a notebook or a data file says so rather than report it clean. A
    script without a suffix counts when its `#!` line names Python."""
    if not file.named:
        return
    suffix = os.path.splitext(file.display)[1]
    if suffix in PYTHON_SUFFIXES:
        return
    first = data.split(b"\n", 1)[0]
    if first.startswith(b"#!") and b"python" in first:
        return
    what = f"a {suffix} file" if suffix else "a file without a .py suffix"
    raise SourceError(1, 1, f"not Python source ({what}); asyncfix reads .py files")


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def decode(data: bytes) -> tuple[str, str]:
    """The text and the declared encoding (PEP 263 cookie or BOM), or SourceError.

    A BOM stays in the text (as U+FEFF) so that diffs and patches reproduce the bytes.
    """
    check_text(data)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(exc.lineno or 1, 1, str(exc.msg)) from exc
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        line, column = _line_col(data, exc.start)
        raise SourceError(line, column, f"not valid {encoding}: {exc.reason}") from exc


# A temporary file beside the one it replaces: `.NAME.XXXXXXXX.asyncfix` (mkstemp's eight
# characters). A run killed outright (SIGKILL) can leave one; the next `apply` removes it
# (see remove_leftovers), so the pattern must be one no user file has.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.asyncfix(?P<copy>-copy)?")
_TEMPORARY_SUFFIX = ".asyncfix"
# A file written in place (see _write_in_place) is copied first to `...asyncfix-copy`,
# renamed so once it is whole: while it lives, the file itself may be half written.
_COPY_SUFFIX = ".asyncfix-copy"


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path`, keeping its owner, group, mode and hard links.

    Normally a temporary file in the same directory, given the same owner and mode,
    replaces it: a reader (or an interrupted run) sees the old content or the new one,
    never half of either. A file with other hard links, or one whose owner this user
    cannot give back, is written in place instead, as editors do (vim's `backupcopy`):
    replacing its inode would break the links or hand the file to this user. That write
    is not atomic; _write_in_place keeps the new content beside the file until it is done.
    """
    info = None
    if path.exists():
        info = os.stat(path)
        mode = stat.S_IMODE(info.st_mode)
        # A file its owner made read-only stays untouched, even for root.
        if not os.access(path, os.W_OK) or not mode & stat.S_IWUSR:
            raise PermissionError(errno.EACCES, "permission denied", str(path))
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if info is not None and info.st_nlink > 1:
        _write_in_place(path, data)
        return
    tmp = _temporary(path, data)
    try:
        if info is not None and (info.st_uid, info.st_gid) != _owner(tmp):
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except PermissionError:
                os.unlink(tmp)
                _write_in_place(path, data)
                return
        os.chmod(tmp, mode)  # after chown, which clears the set-id bits
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _owner(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_gid


def _temporary(path: Path, data: bytes, suffix: str = _TEMPORARY_SUFFIX) -> str:
    """A new file beside `path` holding `data`, on disk (fsync); its name."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:
        # The file may well be writable: it is its directory that is not.
        raise DirectoryError(exc, path.parent) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _write_in_place(path: Path, data: bytes) -> None:
    """Write `data` into `path`'s own inode: its links and owner stay as they are.

    Not atomic, so with care: the new bytes go first to a whole copy beside it (ENOSPC
    strikes there, before the file is touched) and the file's blocks are reserved; the
    copy is removed only once the file is on disk. A run killed in between leaves the
    copy, which the next run keeps and reports (see remove_leftovers)."""
    tmp = _temporary(path, data)
    copy = tmp.removesuffix(_TEMPORARY_SUFFIX) + _COPY_SUFFIX
    try:
        os.replace(tmp, copy)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    started = False
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            with contextlib.suppress(OSError, AttributeError):  # (not every file system)
                os.posix_fallocate(fd, 0, len(data))
            started = True
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        if not started:
            with contextlib.suppress(OSError):
                os.unlink(copy)
        elif isinstance(exc, OSError):
            raise PartialWrite(exc, Path(copy)) from exc
        raise
    os.unlink(copy)


class PartialWrite(OSError):
    """An in-place write failed half way: the new content is in `copy`."""

    def __init__(self, cause: OSError, copy: Path) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.copy = copy


class DirectoryError(OSError):
    """No temporary file could be made in the directory: the message names it."""

    def __init__(self, cause: OSError, directory: Path) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.directory = directory


def remove_leftovers(files: Sequence[SourceFile]) -> tuple[list[Path], list[FileError]]:
    """Remove the temporary files an earlier run left beside `files` when it was killed
    outright (see _TEMPORARY); returns those removed and, as errors, the files whose
    in-place write was cut short: their copy differs from them, and stays."""
    removed: list[Path] = []
    errors: list[FileError] = []
    by_directory: dict[Path, dict[str, SourceFile]] = {}
    for file in files:
        by_directory.setdefault(file.path.parent, {})[file.path.name] = file
    for directory, named in by_directory.items():
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            match = _TEMPORARY.fullmatch(name)
            if match is None or match["name"] not in named:
                continue
            leftover = directory / name
            try:
                if not stat.S_ISREG(os.lstat(leftover).st_mode):
                    continue
            except OSError:
                continue
            if match["copy"] and not _same_bytes(leftover, directory / match["name"]):
                message = (
                    f"an interrupted write may have left this file incomplete; its new "
                    f"content is in {display_path(leftover)} (remove that file when done)"
                )
                errors.append(FileError(named[match["name"]].display, 1, 1, message))
                continue
            with contextlib.suppress(OSError):
                os.unlink(leftover)
                removed.append(leftover)
    return removed, errors


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def write_error_message(exc: OSError) -> str:
    if isinstance(exc, DirectoryError):
        where = display_path(exc.directory) or "."
        return f"cannot write: {_os_message(exc)} in directory {where}"
    if isinstance(exc, PartialWrite):
        copy = display_path(exc.copy)
        return f"cannot write: {_os_message(exc)}; it may be incomplete, see {copy}"
    return f"cannot write: {_os_message(exc)}"
