"""The result cache, `.asyncfix_cache/`: a rerun on unchanged files parses nothing.

An entry holds one file's outcome (findings, the rewritten bytes, packages) under a key
made of everything that outcome can depend on:

- the file's bytes and display path (findings carry the path);
- asyncfix itself: its version AND a digest of its own source files (a codemod edited
  without a version bump must not be served from the cache), libcst's and Python's versions;
- the configuration, the selected rule codes and the codemods that run, in order;
- the project files a codemod may read beside the code (pyproject.toml, requirements*.txt,
  lock files) and the package layout (`__init__.py` files), in the file's directory and
  every directory above it.

Cross-file plans make a file's result depend on other files: a planned file's key also
holds its plan data, in a canonical form of plain data (type-tagged, sets and dicts
sorted); a plan holding anything else cannot be keyed, and that file bypasses the cache.

Only clean outcomes are stored (no errors). Writes are atomic (a temporary file, then a
rename). An entry that cannot be read, is truncated or fails its checksum is a miss: the
file is simply processed again. A miss is always safe; a stale hit never happens as long
as the key covers every input, which is why it errs on the side of including more.

The digests (asyncfix's source, the project files around a file, a run's key) live in
asyncfix/warm.py, which answers a warm `check` from a record without importing this
module; `watching` tells asyncfix/warm_record.py which run the cache served.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import Enum
from functools import cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from asyncfix import __version__, warm
from asyncfix.config import Config
from asyncfix.files import SourceFile
from asyncfix.report import Finding

if TYPE_CHECKING:
    from asyncfix.project import Layout

CACHE_DIR_NAME = warm.CACHE_DIR_NAME
_FORMAT = b"asyncfix-cache-1"
_FACTS_FORMAT = b"asyncfix-facts-1"


@dataclass
class CachedResult:
    """What the driver needs to rebuild a FileOutcome without parsing."""

    encoding: str
    findings: list[Finding]
    new: bytes | None
    packages: set[str] = field(default_factory=set)
    parsed: bool = True  # False: no prescreen wanted the file, libcst never parsed it


_package_digest = warm.package_digest


@cache
def _libcst_version() -> str:
    # From its metadata: importing libcst costs ~0.4 s that a run served from the cache
    # does not otherwise pay. First from the name of its .dist-info directory in
    # site-packages, which the warm path lists anyway: importlib.metadata costs ~12 ms
    # to import (email, zipfile, csv), a run with no plan's twentieth.
    for name in warm.distributions():
        project, _, rest = name.partition("-")
        if project.lower() == "libcst":
            return rest.removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("libcst")
    except PackageNotFoundError:
        return ""


@cache
def _packaging_version() -> str:
    from packaging import __version__ as version

    return version


def _canonical(value: Any) -> Any:
    """A JSON-able, order-independent form of configuration values."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


class Unkeyable(TypeError):
    """A value with no canonical form: the file it belongs to bypasses the cache."""


def plan_form(value: Any) -> Any:
    """A canonical, type-tagged JSON form of plan data: equal forms mean equal values.

    Only plain data has one (None, bool, int, float, str, bytes, list, tuple, set,
    frozenset, dict, enums, paths and dataclasses of these); anything else raises
    Unkeyable rather than risk two different plans sharing a key.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return ["enum", type(value).__qualname__, plan_form(value.value)]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    if isinstance(value, PurePath):
        return ["path", type(value).__name__, str(value)]
    if type(value) in (list, tuple):  # not subclasses (namedtuples): their own fields count
        return [type(value).__name__, [plan_form(v) for v in value]]
    if isinstance(value, set | frozenset):
        return [type(value).__name__, sorted(json.dumps(plan_form(v)) for v in value)]
    if type(value) is dict:
        pairs = sorted([json.dumps(plan_form(k)), plan_form(v)] for k, v in value.items())
        return ["dict", pairs]
    if is_dataclass(value) and not isinstance(value, type):
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        items = [[f.name, plan_form(getattr(value, f.name))] for f in fields(value)]
        return ["dataclass", kind, items]
    raise Unkeyable(f"no canonical form for {type(value).__qualname__}")


def default_directory() -> Path:
    """`$ASYNCFIX_CACHE_DIR`, else `.asyncfix_cache/` in the current directory."""
    return Path(warm.cache_directory())


def layout_digest(layout: Layout | None) -> str:
    """Everything a module's facts may take from the project's layout: its root, its
    import roots and every file of it (an import resolves, or is ambiguous, by the files
    there are). A file added or removed re-indexes every module: exact, if not minimal."""
    if layout is None:
        return "no layout"
    parts = [str(layout.root), *layout.roots, "", *sorted(layout.files)]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


class NotServed(Exception):
    """A probing run (see `watching`) that the cache cannot serve whole."""


# The runs served or stored in this process while a caller watches (see `watching`).
_watch: dict[str, Any] | None = None


@contextlib.contextmanager
def watching(*, probe: bool = False) -> Iterator[dict[str, Any]]:
    """Tell the caller which run the cache served (`"served"`: (salt, run key)) or stored
    (`"stored"`: run key) meanwhile, and with which configuration (`"config"`). `probe`:
    a run the cache cannot serve whole raises NotServed instead of being done
    (asyncfix/warm_record.py asks so)."""
    global _watch
    saved, _watch = _watch, {"probe": probe}
    try:
        yield _watch
    finally:
        _watch = saved


class ResultCache:
    """Picklable (it goes to the worker processes): a directory and the run's salt."""

    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = directory
        self.salt = salt
        self._dirs: dict[str, str] = {}
        self._prepared = False

    @classmethod
    def for_run(
        cls,
        config: Config,
        codemod_names: Sequence[str] = (),
        enabled: frozenset[str] = frozenset(),
        directory: Path | None = None,
    ) -> ResultCache:
        """The cache of a run. Which codemods run and which codes are enabled follow from
        asyncfix's source and the configuration, both in the salt; `codemod_names` and
        `enabled` may still be given (a test's own codemods)."""
        parts = {
            "asyncfix": __version__,
            "source": _package_digest(),
            "libcst": _libcst_version(),
            "python": sys.version,
            "config": _canonical(asdict(config)),
            "codemods": list(codemod_names),
            "enabled": sorted(enabled),
        }
        salt = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        if _watch is not None:
            _watch["config"] = config  # (the run's configuration, its layout set)
        return cls(Path(directory or default_directory()).absolute(), salt)

    def __getstate__(self) -> dict[str, Any]:
        return {"directory": self.directory, "salt": self.salt}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["directory"], state["salt"])  # type: ignore[misc]

    # -- keys ----------------------------------------------------------------------------

    def _directory_digest(self, directory: Path) -> str:
        """The project files in `directory` and every directory above it."""
        return warm.directory_digest(str(directory), self._dirs)

    def key(
        self, data: bytes, display: str, path: Path, plans: Mapping[str, Any] | None = None
    ) -> str | None:
        """None when the file's plans cannot be keyed (then it bypasses the cache)."""
        try:
            form = json.dumps(plan_form(dict(plans or {})))
        except (Unkeyable, RecursionError):
            return None
        digest = hashlib.sha256(self.salt.encode())
        digest.update(display.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(self._directory_digest(path.absolute().parent).encode())
        digest.update(hashlib.sha256(data).digest())
        digest.update(form.encode())
        return digest.hexdigest()

    def facts_key(self, file: SourceFile, data: bytes, layout: str) -> str:
        """The key of a module's facts (see asyncfix/index.py): its bytes, its display and
        absolute paths, the working directory (display paths are relative to it), the
        project's `layout_digest` (module names and import resolution), and the salt
        (asyncfix's source and Python's version among the rest)."""
        digest = hashlib.sha256(b"facts\0" + self.salt.encode() + layout.encode())
        for part in (os.getcwd(), file.display, str(file.path.absolute())):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(data).digest())
        return digest.hexdigest()

    def get_facts(self, key: str) -> bytes | None:
        """A module's stored facts (as `workers.facts_blob` made them), or None for a
        miss: absent, unreadable, truncated or failing its checksum."""
        try:
            blob = self._facts_entry(key).read_bytes()
            magic, stored, checksum, body = blob.split(b"\n", 3)
        except (OSError, ValueError):
            return None
        if (
            magic != _FACTS_FORMAT
            or stored != key.encode()
            or checksum != hashlib.sha256(body).hexdigest().encode()
        ):
            return None
        return body

    def put_facts(self, key: str, blob: bytes) -> None:
        """Store a module's facts atomically (silently not, when the cache cannot be
        written)."""
        checksum = hashlib.sha256(blob).hexdigest().encode()
        self._write(
            self._facts_entry(key), b"\n".join([_FACTS_FORMAT, key.encode(), checksum, blob])
        )

    def _locked_key(self, data: bytes) -> str:
        # (packaging's version too: it spells the names canonically)
        digest = hashlib.sha256(b"locked\0" + self.salt.encode() + _packaging_version().encode())
        digest.update(b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def get_locked(self, data: bytes) -> tuple[tuple[str, str], ...] | None:
        """The packages a lock file holding `data` pins, as a run read them from it
        before (see project._locked_packages), or None for a miss."""
        key = self._locked_key(data)
        try:
            record = json.loads(self._locked_entry(key).read_bytes())
            if record["key"] != key:
                return None
            packages = tuple((name, version) for name, version in record["packages"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(isinstance(n, str) and isinstance(v, str) for n, v in packages):
            return None
        return packages

    def put_locked(self, data: bytes, packages: tuple[tuple[str, str], ...]) -> None:
        """Store what was read of a lock file holding `data` (see get_locked)."""
        key = self._locked_key(data)
        body = json.dumps({"key": key, "packages": packages}).encode()
        self._write(self._locked_entry(key), body)

    def _locked_entry(self, key: str) -> Path:
        return self._entry(key).with_suffix(".locked")

    def _facts_entry(self, key: str) -> Path:
        return self._entry(key).with_suffix(".facts")

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def _run_entry(self, key: str) -> Path:
        return self._entry(key.removeprefix("run-")).with_suffix(".run")

    # -- whole runs ----------------------------------------------------------------------

    def run_key(
        self,
        files: Sequence[tuple[SourceFile, bytes]],
        shard: tuple[int, int] | None,
        given: Collection[str] | None = None,
    ) -> str:
        """A run's key: every discovered file (plans read them all, whatever the shard),
        its bytes and the project files around it, the shard, and the files given when
        they are not all of them (see driver._project)."""
        rows = [(f.display, str(f.path.absolute()), hashlib.sha256(d).digest()) for f, d in files]
        if _watch is not None:  # what a warm record must read again (asyncfix/warm.py)
            _watch["files"] = [(display, path) for display, path, _ in rows]
            _watch["given"] = sorted(given) if given is not None else None
        return warm.run_key(self.salt, shard, given, rows, self._dirs)

    def get_run(self, key: str) -> dict[str, dict[str, Any]] | None:
        """display path -> what the run found there: {"key": its file entry} or its
        errors; files that needed nothing are absent. None for a miss."""
        files: dict[str, dict[str, Any]] | None
        try:
            blob = self._run_entry(key).read_bytes()
            magic, body = blob.split(b"\n", 1)
            record = json.loads(body)
            if magic != _FORMAT or record["key"] != key:
                return None
            files = record["files"]
            if not isinstance(files, dict):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            files = None
        if _watch is not None:
            if files is None and _watch["probe"]:
                raise NotServed(key)
            _watch["served"] = None if files is None else (self.salt, key)
        return files

    def put_run(self, key: str, outcomes: Sequence[Any]) -> None:
        """Remember a run's outcomes (FileOutcome) by their file entries; not stored when
        one cannot be replayed (no entry, or an error that may not happen again)."""
        files: dict[str, dict[str, Any]] = {}
        for outcome in outcomes:
            if outcome.errors:
                if any(
                    "internal error" in e.message or "worker" in e.message for e in outcome.errors
                ):
                    return  # a crash or a dead worker: not a property of the bytes
                rows = [[e.line, e.column, e.message] for e in outcome.errors]
                files[outcome.file.display] = {"errors": rows, "parsed": outcome.parsed}
            elif outcome.cache_key is not None:
                files[outcome.file.display] = {"key": outcome.cache_key}
            elif outcome.parsed or outcome.findings or outcome.new is not None:
                return  # a result without an entry (plans that cannot be keyed)
        body = json.dumps({"key": key, "files": files}).encode()
        self._write(self._run_entry(key), _FORMAT + b"\n" + body)
        if _watch is not None:
            _watch["stored"] = key

    # -- entries -------------------------------------------------------------------------

    def get(self, key: str, display: str) -> CachedResult | None:
        """The stored result, or None for a miss (absent, unreadable, corrupt)."""
        found = self._get(key, display)
        if found is None and _watch is not None and _watch["probe"]:
            raise NotServed(key)
        return found

    def _get(self, key: str, display: str) -> CachedResult | None:
        try:
            blob = self._entry(key).read_bytes()
            magic, header, body = blob.split(b"\n", 2)
            if magic != _FORMAT:
                return None
            meta = json.loads(header)
            if meta["key"] != key or meta["sha256"] != hashlib.sha256(body).hexdigest():
                return None
            findings = [Finding(display, *row) for row in meta["findings"]]
            return CachedResult(
                encoding=str(meta["encoding"]),
                findings=findings,
                new=body if meta["changed"] else None,
                packages=set(meta["packages"]),
                parsed=bool(meta.get("parsed", True)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: CachedResult) -> None:
        """Store atomically; a cache that cannot be written is silently not used."""
        body = result.new or b""
        meta = {
            "key": key,
            "sha256": hashlib.sha256(body).hexdigest(),
            "encoding": result.encoding,
            "changed": result.new is not None,
            "packages": sorted(result.packages),
            "parsed": result.parsed,
            "findings": [
                [f.line, f.column, f.code, f.family, f.message, f.fixable, f.reason]
                for f in result.findings
            ],
        }
        self._write(self._entry(key), _FORMAT + b"\n" + json.dumps(meta).encode() + b"\n" + body)

    def put_warm(self, key: str, blob: bytes) -> None:
        """Store a warm record (asyncfix/warm.py) atomically."""
        self._write(self.directory / warm.WARM_DIR_NAME / key, blob)

    def _write(self, target: Path, blob: bytes) -> None:
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace(target, blob)
        except OSError:
            pass

    def remove_temporaries(self) -> None:
        """Remove the temporary files of writes cut short: a worker killed on a signal
        may have been inside `_replace`. (One of another run's, removed mid-write, only
        costs that run its entry: its rename fails, and a cache that cannot be written
        is not used.)"""
        with contextlib.suppress(OSError):
            for shard in os.scandir(self.directory):
                if shard.is_dir(follow_symlinks=False):
                    for entry in os.scandir(shard.path):
                        if entry.name.startswith(".tmp-"):
                            with contextlib.suppress(OSError):
                                os.unlink(entry.path)

    def _prepare(self) -> None:
        # Like ruff's cache: ignored by git and by backup tools, without any setup. Each
        # file is written whole or not at all: a full disk once left an empty tag behind,
        # which is repaired here (the .gitignore goes last, so a missing one means redo).
        if self._prepared or (self._tagged() and (self.directory / ".gitignore").exists()):
            self._prepared = True
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            _replace(self.directory / "CACHEDIR.TAG", _TAG)
            _replace(self.directory / ".gitignore", b"# Created by asyncfix.\n*\n")
            self._prepared = True

    def _tagged(self) -> bool:
        try:
            return (self.directory / "CACHEDIR.TAG").read_bytes() == _TAG
        except OSError:
            return False


_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This directory is asyncfix's result cache; see asyncfix/cache.py.\n"
)


def _replace(target: Path, blob: bytes) -> None:
    """Write `target` through a temporary file and a rename: whole or not at all."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
