"""The warm path: `asyncfix check` answered from one record when nothing has changed.

This is the console entry point (and `python -m asyncfix`). It imports only os, sys, stat,
time, marshal and CPython's SHA-256 module: not hashlib (OpenSSL), click, libcst, the
driver or the planning layers. For a `check` whose options it knows, it looks up the
record an earlier run left for the same command line (`.asyncfix_cache/warm/`) and
verifies it:

- the invocation: asyncfix's version and place, Python, the installed distributions, the
  working directory, the run's options (`invocation_key`); then the digest of asyncfix's
  source, against the record's (`package_digest`);
- what the configuration, the project root and the walk's start depend on: each given
  path (resolved, its kind), `--config`'s bytes, and in every directory above them the
  markers and project settings (`.git`, `.gitignore`, `pyproject.toml`, ...) by their bytes
  (`state_digest`);
- discovery: each directory the walk listed holds the same entries (and none is a
  symbolic link), each .gitignore consulted has the same text (`walk_unchanged`), so the
  walk would find the same files without matching a pattern;
- every file's bytes and the project files around it: the run key is computed again from
  them exactly as the result cache computes it (`run_key`), and must equal the recorded one.
  A file (of the project, beside it, or of asyncfix) is not read again while it keeps the
  stamp the record hashed it under (`stamp`: size, mtime, ctime, inode, device).

Then it prints what the full command line printed for a run served from the result cache
(the record holds it, rendered by the real code; only the run time is its own) and exits
with the same code. Anything else (no record, a difference, an option it does not know,
`--no-cache`, stdin, `--profile`, SARIF) goes to the full command line, which then leaves
a record for next time (asyncfix/warm_record.py). A record is never more than a shortcut
to what the result cache would answer: its correctness is the result cache's, never a
file's size or modification time alone.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import time

from asyncfix import __version__

# Not `typing.TYPE_CHECKING`: importing typing alone costs a warm run about a tenth.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from hashlib import _Hash
    from typing import Any

_builtin_sha256: Callable[[bytes], _Hash] | None
try:  # (by version: a failed import searches every directory of sys.path)
    if sys.version_info >= (3, 12):  # (which merged CPython's SHA-2 modules into _sha2)
        from _sha2 import sha256 as _builtin_sha256
    else:
        from _sha256 import sha256 as _builtin_sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:  # (a build without them)
    _builtin_sha256 = None

RECORD_FORMAT = 3
CACHE_DIR_NAME = ".asyncfix_cache"
WARM_DIR_NAME = "warm"

# Files beside the code that a codemod may read (the FastAPI version, the HTTP library the
# project depends on, ...), and the package layout that module names come from.
# The import sorter's configurations are among them: they decide where added imports go.
PROJECT_FILES = frozenset(
    {"pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "__init__.py"}
    | {".isort.cfg", "tox.ini", ".editorconfig", "ruff.toml", ".ruff.toml"}
)
# Directories discovery never enters (asyncfix/files.py).
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
# What, in a directory above a given path, decides the configuration, the project root,
# the repository's top (where .gitignore files stop) and the project's import roots.
_MARKERS = PROJECT_FILES | {".git", ".gitignore", "pytest.ini", "mypy.ini", ".mypy.ini"}

# --- shared with the result cache (asyncfix/cache.py) -----------------------------------


def is_project_file(name: str) -> bool:
    return (
        name in PROJECT_FILES
        or name.endswith(".lock")
        or (name.startswith("requirements") and name.endswith(".txt"))
    )


def cache_directory() -> str:
    """`$ASYNCFIX_CACHE_DIR`, else `.asyncfix_cache/` in the current directory."""
    return os.environ.get("ASYNCFIX_CACHE_DIR") or CACHE_DIR_NAME


def sha256(data: bytes = b"") -> _Hash:
    """A SHA-256 object (the digests are the same whichever computes them). OpenSSL's,
    through hashlib, once something has imported it (the full command line has: it hashes
    megabytes 5x faster); else CPython's own module, since importing hashlib loads OpenSSL,
    about 3 ms of a warm run's 20 to 30."""
    if _builtin_sha256 is None or "hashlib" in sys.modules:
        import hashlib

        return hashlib.sha256(data)
    return _builtin_sha256(data)


def _sha(data: bytes) -> bytes:
    return sha256(data).digest()


def _read(path: str) -> bytes | None:
    """A regular file's bytes (never a FIFO's: opening one would block); None if none."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


_package: list[str] = []

# What a file's size, mtime, ctime, inode and device were (see `stamp`).
Stamp = tuple[int, int, int, int, int]
# A file's sha256, trusted while the file keeps the stamp (None: never trusted, see `stamped`).
Known = tuple["Stamp | None", bytes]


def _package_files() -> tuple[str, list[str]]:
    """asyncfix's directory, and its source files that its digest covers (sorted)."""
    root = os.path.dirname(os.path.abspath(__file__))
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = os.path.relpath(dirpath, root)
        for name in filenames:
            if name.endswith((".py", ".json", ".toml")):
                found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
    return root, sorted(found)


def package_digest(known: dict[str, Known] | None = None) -> str:
    """A digest of asyncfix's own source: any edit to a codemod invalidates the cache.
    With `known` (a file's sha256 by its name, as `package_stamps` gave them), a file whose
    stamp is the known one is not read again."""
    if _package and known is None:
        return _package[0]
    root, names = _package_files()
    digest = sha256()
    for name in names:
        digest.update(name.encode() + b"\0")
        sha = _known_sha(os.path.join(root, name), (known or {}).get(name))
        if sha is not None:
            digest.update(sha)
    if known is not None:
        return digest.hexdigest()
    _package.append(digest.hexdigest())
    return _package[0]


def package_stamps(now: int) -> tuple[str, dict[str, Known]]:
    """(the package's digest, each readable file's stamp and sha256) read at once, for a
    record made at `now` (see `stamped`)."""
    root, names = _package_files()
    digest = sha256()
    known: dict[str, Known] = {}
    for name in names:
        digest.update(name.encode() + b"\0")
        found = stamped(os.path.join(root, name), now)
        if found is not None:
            known[name] = (found[0], _sha(found[1]))
            digest.update(known[name][1])
    return digest.hexdigest(), known


def _trusted(path: str, known: Known | None) -> bytes | None:
    """The known sha256 of a file while it keeps the stamp it was known by, else None."""
    if known is not None and known[0] is not None and stamp(path) == known[0]:
        return known[1]
    return None


def _known_sha(path: str, known: Known | None) -> bytes | None:
    """The sha256 of a regular file's bytes: the known one while the file keeps the stamp
    it was known by, else read (None: not a regular file, or unreadable)."""
    trusted = _trusted(path, known)
    if trusted is not None:
        return trusted
    data = _read(path)
    return None if data is None else _sha(data)


class Seen:
    """What the warm path has read already, or may trust, of what a run key reads: the
    project files in each directory the walk check listed (the same listing), each
    discovered file's sha256 (checked already), and the other project files' known
    sha256."""

    def __init__(self, known: dict[str, Known]) -> None:
        self.cwd = os.getcwd()
        self.listed: dict[str, list[str]] = {}
        self.gitignores: set[str] = set()  # (listed directories holding a .gitignore)
        self.shas: dict[str, bytes] = {}
        self.known = known

    def sha(self, path: str) -> bytes | None:
        """As `directory_digest` reads a project file: None when it cannot be read."""
        found = self.shas.get(path)
        if found is not None:
            return found
        trusted = _trusted(path, self.known.get(path))
        return _project_sha(path) if trusted is None else trusted


def _project_sha(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return _sha(fh.read())
    except OSError:
        return None


def project_names(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.name for e in entries if is_project_file(e.name))
    except OSError:
        return []


def directory_digest(directory: str, memo: dict[str, str], seen: Seen | None = None) -> str:
    """The project files (names and bytes) in `directory` (absolute) and every directory
    above it. (`seen`: what the warm path has read already.)"""
    if directory in memo:
        return memo[directory]
    parent = os.path.dirname(directory)
    above = "" if parent == directory else directory_digest(parent, memo, seen)
    digest = sha256(above.encode())
    names = None if seen is None else seen.listed.get(directory)
    for name in project_names(directory) if names is None else names:
        digest.update(name.encode() + b"\0")
        path = os.path.join(directory, name)
        sha = _project_sha(path) if seen is None else seen.sha(path)
        if sha is not None:
            digest.update(sha)
    memo[directory] = result = digest.hexdigest()
    return result


def run_key(
    salt: str,
    shard: tuple[int, int] | None,
    given: Iterable[str] | None,
    files: Iterable[tuple[str, str, bytes]],
    memo: dict[str, str],
    seen: Seen | None = None,
) -> str:
    """A run's key: the salt, the shard, the files given when they are not all of them,
    and every file of the project (display path, absolute path, sha256 of its bytes,
    sorted by display path) with the project files around it."""
    digest = sha256(b"run\0" + salt.encode() + repr(shard).encode())
    digest.update(repr(sorted(given) if given is not None else None).encode())
    for display, path, sha in sorted(files, key=lambda item: item[0]):
        digest.update(display.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(directory_digest(os.path.dirname(path), memo, seen).encode())
        digest.update(sha)
    return "run-" + digest.hexdigest()


# A file changed this close to when its stamp was taken may change again within the same
# clock tick and keep every stamp: it is hashed on every run (git's "racily clean").
RACY_NS = 3 * 10**9


def stamp(path: str) -> Stamp | None:
    """What any write to a regular file changes: its size, mtime, ctime, inode, device.
    ctime is the one no user can set (restoring an mtime with `touch -d` changes it)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev


def stamped(path: str, now: int) -> tuple[Stamp | None, bytes] | None:
    """(its stamp when it can be trusted later, else None; its bytes), for a record made
    at `now` (time.time_ns() before any read); None when it cannot be read."""
    before = stamp(path)
    data = _read(path)
    if data is None or before is None:
        return None
    racy = max(before[1], before[2]) >= now - RACY_NS
    return (None if racy or stamp(path) != before else before), data


# --- the command line it understands ------------------------------------------------------


class Options:
    """A `check` command line: what changes the run, then what only changes the output."""

    def __init__(
        self,
        paths: tuple[str, ...],
        select: tuple[str, ...],
        ignore: tuple[str, ...],
        exclude: tuple[str, ...],
        config: str | None,
        force_exclude: bool,
        shard: str | None,
        output_format: str,
        quiet: bool,
        exit_zero: bool,
        statistics: bool,
    ) -> None:
        self.paths, self.select, self.ignore, self.exclude = paths, select, ignore, exclude
        self.config, self.force_exclude, self.shard = config, force_exclude, shard
        self.output_format, self.quiet = output_format, quiet
        self.exit_zero, self.statistics = exit_zero, statistics


_VALUED = {"--select", "--ignore", "--exclude", "--config", "--output-format", "--shard"}
_FLAGS = {
    "--quiet": "quiet",
    "-q": "quiet",
    "--verbose": "verbose",  # (check lists every finding anyway)
    "-v": "verbose",
    "--exit-zero": "exit_zero",
    "--force-exclude": "force_exclude",
    "--statistics": "statistics",
}
_FORMATS = ("text", "json", "github")  # (SARIF computes each fix: the full path)


def parse(argv: Sequence[str]) -> Options | None:
    """The options of `check ...` as click reads them; None for anything else (another
    command, --help, an option it does not know, stdin, a value click would refuse)."""
    if not argv or argv[0] != "check":
        return None
    values: dict[str, list[str]] = {name: [] for name in _VALUED}
    flags: set[str] = set()
    paths: list[str] = []
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == "--":
            paths.extend(args)
            break
        name, eq, value = arg.partition("=")
        if name == "--jobs" or arg.startswith("-j"):
            if name != "--jobs":
                value = arg[2:]  # -j4 or -j 4
            if not value and not eq:
                value = args.pop(0) if args else ""
            if not (value.isascii() and value.isdigit() and int(value) >= 1):
                return None  # (click says why)
        elif name in _VALUED:
            if not eq:
                if not args:
                    return None
                value = args.pop(0)
            if not value or value.startswith("-"):
                return None
            values[name].append(value)
        elif arg in _FLAGS:
            flags.add(_FLAGS[arg])
        elif arg.startswith("-"):
            return None  # `-` (stdin), --no-cache, --profile, --help, combined flags...
        else:
            paths.append(arg)
    if not all(paths) or "-" in paths:
        return None
    output = (values["--output-format"] or ["text"])[-1]
    statistics = "statistics" in flags
    if output not in _FORMATS or (statistics and output != "text"):
        return None
    return Options(
        paths=tuple(paths),
        select=tuple(values["--select"]),
        ignore=tuple(values["--ignore"]),
        exclude=tuple(values["--exclude"]),
        config=values["--config"][-1] if values["--config"] else None,
        force_exclude="force_exclude" in flags,
        shard=values["--shard"][-1] if values["--shard"] else None,
        output_format=output,
        quiet="quiet" in flags,
        exit_zero="exit_zero" in flags,
        statistics=statistics,
    )


# --- the keys and checks of a record ------------------------------------------------------


def distributions() -> list[str]:
    """The installed distributions (libcst, pathspec, ... with their versions)."""
    found: list[str] = []
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            try:
                names = os.listdir(entry)
            except OSError:
                continue
            found += sorted(n for n in names if n.endswith(".dist-info"))
    return found


def invocation_key(options: Options) -> str:
    """What a record is filed under: asyncfix (its version and place; the record holds
    its source's digest), Python, the installed distributions, the working directory, the
    cache's place and the options that change a run."""
    parts = (
        RECORD_FORMAT,
        __version__,
        os.path.dirname(os.path.abspath(__file__)),  # (its source: the record's "package")
        sys.version,
        distributions(),
        os.getcwd(),
        os.path.abspath(cache_directory()),
        options.paths,
        options.select,
        options.ignore,
        options.exclude,
        options.config,
        options.force_exclude,
        options.shard,
    )
    return sha256(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _kind(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "missing"
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def _markers(directory: str, digest: Any) -> None:
    """The markers in `directory` and every directory above it, by name, kind and bytes."""
    while True:
        try:
            with os.scandir(directory) as entries:
                names = sorted(e.name for e in entries if e.name in _MARKERS)
        except OSError:
            names = []
        digest.update(f"{directory}\0{names}\0".encode("utf-8", "surrogateescape"))
        for name in names:
            data = _read(os.path.join(directory, name))
            kind = _kind(os.path.join(directory, name))
            digest.update(kind.encode() + (_sha(data) if data is not None else b"-"))
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def state_digest(options: Options) -> str:
    """What the configuration, the project root and discovery's start depend on, beside
    the walk itself: the given paths (resolved, their kind), --config's bytes, and the
    markers in every directory above them."""
    digest = sha256()
    seen: set[str] = set()
    for path in [*(options.paths or (".",)), *([options.config] if options.config else [])]:
        real, kind = os.path.realpath(path), _kind(path)
        digest.update(f"{path}\0{real}\0{kind}\0".encode("utf-8", "surrogateescape"))
        if kind == "file":
            data = _read(path)
            digest.update(_sha(data) if data is not None else b"-")
        start = real if kind == "dir" else os.path.dirname(real)
        if start not in seen:
            seen.add(start)
            _markers(start, digest)
    return digest.hexdigest()


def walked(
    dirnames: Iterable[str], filenames: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What of a directory's listing discovery looks at: the directories it may enter and
    the .py files, sorted. (A README, an editor's swap file or another tool's cache
    appearing changes nothing it finds.)"""
    dirs = sorted(d for d in dirnames if d not in DEFAULT_EXCLUDES)
    return tuple(dirs), tuple(sorted(f for f in filenames if f.endswith(".py")))


def _listing(
    directory: str, seen: Seen | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """`walked` of the directory as os.walk lists it now; None when one of those entries
    is a symbolic link (discovery's answer then depends on where it points). `seen` keeps
    what the run key reads of the same listing: its project files, and its .gitignore."""
    dirs: list[str] = []
    others: list[str] = []
    project: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                (dirs if is_dir else others).append(entry.name)
                name = entry.name
                looked_at = name not in DEFAULT_EXCLUDES if is_dir else name.endswith(".py")
                if looked_at and entry.is_symlink():
                    return None
                if seen is not None and is_project_file(name):
                    project.append(name)
    except OSError:
        return None
    if seen is not None:
        absolute = _absolute(directory, seen.cwd)
        if absolute is not None:
            seen.listed[absolute] = sorted(project)
            if ".gitignore" in others or ".gitignore" in dirs:
                seen.gitignores.add(absolute)
    return walked(dirs, others)


def _absolute(path: str, cwd: str) -> str | None:
    """`path` as pathlib's `absolute()` spells it, which is how a run key names the
    directories: `.` and empty parts dropped, which name the same directory (`..` kept:
    after a symbolic link it is not the parent). None: not a POSIX system."""
    if os.name != "posix":
        return None
    if not path.startswith("/"):
        path = cwd + "/" + path
    return "/" + "/".join(part for part in path.split("/") if part and part != ".")


def _gitignore_text(directory: str) -> str | None:
    """A .gitignore's lines as discovery reads them (asyncfix/files.py)."""
    data = _read(os.path.join(directory, ".gitignore"))
    return None if data is None else "\n".join(data.decode("utf-8", "replace").splitlines())


def walk_unchanged(trace: Sequence[tuple[Any, ...]], seen: Seen | None = None) -> bool:
    """Would discovery read the same listings and .gitignore files again? (`seen`: see
    `_listing`.)"""
    for step in trace:
        if step[0] == "walk":
            if _listing(step[1], seen) != (step[2], step[3]):
                return False
        elif step[0] != "gitignore":
            return False
    for step in trace:
        if step[0] == "gitignore":
            directory = None if seen is None else _absolute(step[1], seen.cwd)
            if seen is not None and directory in seen.listed and directory not in seen.gitignores:
                text = None  # (listed just now, with no .gitignore in it)
            else:
                text = _gitignore_text(step[1])
            if text != step[2]:
                return False
    return True


def record_path(key: str) -> str:
    return os.path.join(cache_directory(), WARM_DIR_NAME, key)


# --- serving --------------------------------------------------------------------------------


def serve(options: Options) -> int | None:
    """Print the recorded answer and return the exit code; None when there is none."""
    started = time.perf_counter()
    try:
        found = _answer(options)
    except (OSError, ValueError, EOFError, TypeError, KeyError):
        return None  # (a record of another shape, a working directory gone, ...)
    if found is None:
        return None
    out, stdout, head, tail = found
    # The summary's run time is this run's, from the same clock the driver reads.
    stderr = head + (f"{time.perf_counter() - started:.2f}" + tail if tail is not None else "")
    sys.stdout.write(stdout)
    sys.stdout.flush()
    sys.stderr.write(stderr)
    sys.stderr.flush()
    if out["failed"]:
        return 2
    return 1 if out["findings"] and not options.exit_zero else 0


def _answer(options: Options) -> tuple[dict[str, Any], str, str, str | None] | None:
    """The record's answer for `options` if every input it covers is unchanged."""
    blob = _read(record_path(invocation_key(options)))
    if blob is None:
        return None
    record = marshal.loads(blob)
    if record["format"] != RECORD_FORMAT or record["state"] != state_digest(options):
        return None
    if package_digest(record["package"][1]) != record["package"][0]:
        return None
    seen = Seen(record["project"])
    if not walk_unchanged(record["trace"], seen):
        return None
    files = []
    for display, path, known, sha in record["files"]:
        # A file whose stamp is unchanged since the record is not read again (as git's
        # index); any other, and any racily stamped one, is read and hashed.
        if known is None or stamp(path) != known:
            data = _read(path)
            if data is None:
                return None
            sha = _sha(data)
        files.append((display, path, sha))
        seen.shas[path] = sha
    key = run_key(record["salt"], record["shard"], record["given"], files, {}, seen)
    if key != record["run_key"]:
        return None
    out: dict[str, Any] = record["out"]
    rendered = _render(options, out)
    return None if rendered is None else (out, *rendered)


def _render(options: Options, out: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """What `cli.check` writes: stdout, then stderr before the summary's run time and
    after it (None: no summary); None when the record lacks it or click would not write
    it as it is."""
    summary = not options.quiet
    stdout: str | None
    if options.output_format == "json":
        stdout, summary = out["json"] + "\n", False
    elif options.output_format == "github":
        stdout = out["github"]
    elif options.statistics:
        stdout = out.get("statistics")
    else:
        stdout = out["text"]
    rest = out["warnings"] + (out["errors"] if options.output_format != "github" else "")
    head, tail = out["summary"]
    before, after = (head, tail + "\n" + rest) if summary else (rest, None)
    if stdout is None or not _plain(stdout, sys.stdout):
        return None
    if not _plain(before + (after or ""), sys.stderr):
        return None
    return stdout, before, after


def _plain(text: str, stream: Any) -> bool:
    """Would click write `text` as it is? It strips ANSI escapes off a stream that is not
    a terminal, and a stream that cannot encode it fails."""
    if "\x1b" in text:
        return False
    try:
        text.encode(stream.encoding or "utf-8")
    except (UnicodeError, LookupError):
        return False
    return True


def main() -> None:
    """`asyncfix`: a warm `check` from its record, anything else by the command line."""
    options = parse(sys.argv[1:])
    if options is not None:
        code = serve(options)
        if code is not None:
            # Without the interpreter's teardown, a tenth of a warm run: serve() flushed
            # both streams, and nothing else is open or registered.
            os._exit(code)
    from asyncfix.warm_record import run_and_record

    try:
        run_and_record(options)
    finally:
        # The interpreter's teardown collects the cycles among all it still holds: after a
        # run with the codemods, libcst's classes and the rest, 0.1 s of CPU for no use.
        # Frozen, its collections skip them; they are freed (or not) as ever, and streams
        # flushed and exit handlers run as ever.
        import gc

        gc.freeze()
