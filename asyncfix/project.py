"""What the project being rewritten declares: its FastAPI version, the Pythons it supports,
the packages it depends on. Read from its own files (pyproject.toml, requirements*.txt,
lock files), never by importing anything. Shared by the families that need it.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from asyncfix.config import Config

if TYPE_CHECKING:
    from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# -- FastAPI version, supported Pythons ------------------------------------

FASTAPI_DEPRECATES_ORJSON = Version("0.131")
# Lock files with [[package]] tables (name, version). The result cache keys on every
# *.lock file, pyproject.toml and requirements*.txt, so these are the files read.
_LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock")


@dataclass(frozen=True)
class FastAPITarget:
    """Where the project's FastAPI is relative to 0.131: "old", "new" or "unknown"."""

    status: str
    evidence: str  # what it was read from, for messages


@dataclass(frozen=True)
class ProjectFacts:
    fastapi: FastAPITarget


def _bump(release: Sequence[int]) -> Version:
    """The first version after every version starting with `release` (0.110 -> 0.111)."""
    return Version(".".join(map(str, [*release[:-1], release[-1] + 1])))


def bounds(spec: SpecifierSet) -> tuple[list[tuple[Version, bool]], list[Version]]:
    """Upper bounds (version, inclusive) and lower bounds the specifiers put on versions."""
    upper: list[tuple[Version, bool]] = []
    lower: list[Version] = []
    for s in spec:
        text = s.version
        try:
            if s.operator == "==" and text.endswith(".*"):
                release = Version(text[:-2]).release
                lower.append(Version(text[:-2]))
                upper.append((_bump(release), False))
                continue
            version = Version(text)
        except InvalidVersion:
            continue
        if s.operator in ("==", "==="):
            lower.append(version)
            upper.append((version, True))
        elif s.operator == "~=":
            lower.append(version)
            if len(version.release) >= 2:
                upper.append((_bump(version.release[:-1]), False))
        elif s.operator == "<":
            upper.append((version, False))
        elif s.operator == "<=":
            upper.append((version, True))
        elif s.operator in (">=", ">"):
            lower.append(version)
    return upper, lower


def classify(spec: SpecifierSet, threshold: Version) -> str:
    """Where the versions `spec` allows are: all below `threshold` ("old"), all at or above
    it ("new"), or either ("unknown"). `!=` clauses are ignored: they only remove points."""
    upper, lower = bounds(spec)
    old = any(v < threshold or (v == threshold and not inclusive) for v, inclusive in upper)
    new = any(v >= threshold for v in lower)
    if old == new:  # neither, or a contradiction
        return "unknown"
    return "old" if old else "new"


def _version_status(version: Version) -> str:
    return "old" if version < FASTAPI_DEPRECATES_ORJSON else "new"


def poetry_specifier(text: str) -> SpecifierSet | None:
    """Poetry's constraint syntax (^1.2, ~1.2, 1.2.*, >=1,<2) as PEP 440; None if unsure."""
    if "|" in text:
        return None
    text = re.sub(r"(>=|<=|==|!=|~=|>|<|\^|~)\s+", r"\1", text.strip())
    parts: list[str] = []
    for token in filter(None, re.split(r"[,\s]+", text)):
        try:
            if token == "*":
                continue
            if token[0] in "^~" and not token.startswith("~="):
                version = Version(token[1:])
                release = list(version.release)
                if token[0] == "^":
                    nonzero = next((i for i, n in enumerate(release) if n), len(release) - 1)
                    cut = release[: nonzero + 1]
                else:
                    cut = release[:2] if len(release) >= 2 else release[:1]
                parts += [f">={version}", f"<{_bump(cut)}"]
            elif token[0] in "<>=!~":
                parts.append(token)
            else:
                parts.append(f"=={token}")
        except InvalidVersion:
            return None
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier:
        return None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    return _toml_of(data)


def _at(doc: Any, *keys: str) -> Any:
    """`doc[k1][k2]...`, or None where a table is missing or is not a table."""
    for key in keys:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _values(table: Any) -> list[Any]:
    return list(table.values()) if isinstance(table, Mapping) else []


def _requirement(line: str) -> Requirement | None:
    """A PEP 508 requirement, None when `line` is not one."""
    # (packaging's requirements and utils modules cost ~20 ms to import, which a run with
    # no plan, such as a pre-commit hook's one file, does not otherwise pay)
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(line)
    except InvalidRequirement:
        return None


def _canonical_name(name: str) -> str:
    """packaging's canonical name of a distribution (imported when first asked)."""
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def _strings(array: Any) -> list[str]:
    return [v for v in array if isinstance(v, str)] if isinstance(array, list) else []


def _requirement_specs(
    lines: Iterable[str], where: str, package: str = "fastapi"
) -> list[tuple[SpecifierSet, str]]:
    found = []
    for line in lines:
        requirement = _requirement(line)
        if requirement is None:
            continue
        if _canonical_name(requirement.name) == package:
            found.append((requirement.specifier, f"{line.strip()} in {where}"))
    return found


def _requirements_lines(text: str) -> list[str]:
    """The requirement lines of a requirements file: no comments, options, continuations."""
    lines = []
    for line in text.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        line = re.split(r"\s--?[a-z]", line)[0].strip()  # --hash=..., per-line options
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def _declared_fastapi(
    pyproject: Mapping[str, Any], name: str, directory: Path, package: str = "fastapi"
) -> list[tuple[SpecifierSet, str]]:
    """Every constraint on `package` the project declares, with where it was read:
    [project] (and PDM's dev-dependencies), Poetry's tables, requirements*.txt and
    setup.cfg's install_requires."""
    lines = _strings(_at(pyproject, "project", "dependencies"))
    for array in _values(_at(pyproject, "project", "optional-dependencies")):
        lines += _strings(array)
    for array in _values(_at(pyproject, "dependency-groups")):
        lines += _strings(array)  # {include-group = ...} entries are skipped
    for array in _values(_at(pyproject, "tool", "pdm", "dev-dependencies")):
        lines += _strings(array)
    found = _requirement_specs(lines, name, package)
    poetry = _at(pyproject, "tool", "poetry")
    tables = [_at(poetry, "dependencies"), _at(poetry, "dev-dependencies")]
    tables += [_at(group, "dependencies") for group in _values(_at(poetry, "group"))]
    for table in tables:
        for declared, constraint in table.items() if isinstance(table, Mapping) else ():
            if _canonical_name(declared) != package:
                continue
            text = constraint.get("version") if isinstance(constraint, Mapping) else constraint
            spec = poetry_specifier(text) if isinstance(text, str) else None
            found.append((spec or SpecifierSet(), f"{declared} = {text!r} in {name}"))
    for path in sorted(directory.glob("requirements*.txt")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found += _requirement_specs(_requirements_lines(text), path.name, package)
    setup = _setup_cfg(directory)
    if setup.has_option("options", "install_requires"):
        lines = setup.get("options", "install_requires").splitlines()
        found += _requirement_specs(lines, "setup.cfg", package)
    return found


def _setup_cfg(directory: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(OSError, UnicodeDecodeError, configparser.Error):
        parser.read(directory / "setup.cfg", encoding="utf-8")
    return parser


def _locked_fastapi(directory: Path, package: str = "fastapi") -> list[tuple[Version, str]]:
    found = []
    for name in _LOCK_FILES:
        path = directory / name
        try:
            stat = path.stat()
        except OSError:
            continue
        if not S_ISREG(stat.st_mode):
            continue
        stamp = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)
        for locked, version in _locked_packages(path, stamp):
            if locked != package:
                continue
            try:
                found.append((Version(version), name))
            except InvalidVersion:
                continue
    return found


Locked = tuple[tuple[str, str], ...]


class LockMemo(Protocol):
    """What earlier runs read of lock files, by their bytes (see ResultCache.get_locked)."""

    def get_locked(self, data: bytes) -> Locked | None: ...

    def put_locked(self, data: bytes, packages: Locked) -> None: ...


# The run's memo of lock files (the result cache's), None without one: see use_lock_memo.
_lock_memo: LockMemo | None = None


def use_lock_memo(memo: LockMemo | None) -> None:
    """Keep what is read of lock files in `memo` for later runs (None: parse them). The
    answers are the same either way: the process keeps its own (see _locked_packages)."""
    global _lock_memo
    _lock_memo = memo


@lru_cache(maxsize=16)
def _locked_packages(path: Path, stamp: tuple[int, ...]) -> Locked:
    """(canonical name, version as written) of each package the lock file at `path`
    pins, read once per process while its `stamp` (stat) stays: several packages are
    looked up in it, by the driver, the plans and every worker. A large project's uv.lock
    takes 0.06-0.09 s to parse, which a one-file run paid every time: with a memo, its
    answer is kept by the file's bytes."""
    memo = _lock_memo
    if memo is None:
        return _packages_of(_load_toml(path))
    try:
        data = path.read_bytes()
    except OSError:
        return ()
    found = memo.get_locked(data)
    if found is None:
        found = _packages_of(_toml_of(data))
        memo.put_locked(data, found)
    return found


def _packages_of(doc: Mapping[str, Any]) -> Locked:
    packages = doc.get("package")
    return tuple(
        (_canonical_name(str(locked.get("name"))), str(locked.get("version")))
        for locked in (packages if isinstance(packages, list) else ())
        if isinstance(locked, Mapping)
    )


def _toml_of(data: bytes) -> dict[str, Any]:
    """The TOML document `data` holds ({} where it holds none): decoded as `read_text`
    decodes a file (UTF-8, universal newlines)."""
    try:
        return tomllib.loads(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _fastapi_from_setting(value: str) -> FastAPITarget:
    where = f'fastapi-version = "{value}" in [tool.asyncfix]'
    try:
        return FastAPITarget(_version_status(Version(value)), where)
    except InvalidVersion:
        pass
    try:
        return FastAPITarget(classify(SpecifierSet(value), FASTAPI_DEPRECATES_ORJSON), where)
    except InvalidSpecifier:
        return FastAPITarget("unknown", f"{where} is not a version")


def _fastapi_from_files(pyproject: Mapping[str, Any], source: Path) -> FastAPITarget:
    locked = _locked_fastapi(source.parent)
    if locked:
        statuses = {_version_status(v) for v, _ in locked}
        evidence = ", ".join(f"fastapi {v} in {name}" for v, name in locked)
        if len(statuses) == 1:
            return FastAPITarget(statuses.pop(), evidence)
        return FastAPITarget("unknown", f"{evidence} disagree")
    declared = _declared_fastapi(pyproject, source.name, source.parent)
    if not declared:
        return FastAPITarget("unknown", "fastapi is not among the project's dependencies")
    statuses = {classify(spec, FASTAPI_DEPRECATES_ORJSON) for spec, _ in declared}
    evidence = ", ".join(where for _, where in declared)
    if len(statuses) == 1 and "unknown" not in statuses:
        return FastAPITarget(statuses.pop(), evidence)
    return FastAPITarget("unknown", f"{evidence}: versions before and from 0.131 fit")


def requires_python(
    pyproject: Mapping[str, Any], directory: Path | None = None
) -> tuple[SpecifierSet, str] | None:
    """The Pythons the project supports, and the text that says so: [project]
    requires-python, Poetry's `python`, or setup.cfg's python_requires."""
    text = _at(pyproject, "project", "requires-python")
    if isinstance(text, str):
        try:
            return SpecifierSet(text), text
        except InvalidSpecifier:
            return None
    text = _at(pyproject, "tool", "poetry", "dependencies", "python")
    if isinstance(text, str):
        spec = poetry_specifier(text)
        return (spec, text) if spec is not None else None
    setup = _setup_cfg(directory) if directory is not None else None
    if setup is not None and setup.has_option("options", "python_requires"):
        text = setup.get("options", "python_requires").strip()
        with contextlib.suppress(InvalidSpecifier):
            return SpecifierSet(text), text
    return None


@lru_cache(maxsize=64)
def read_project(fastapi_version: str | None, source: Path | None) -> ProjectFacts:
    """What the codemods need to know about the project whose pyproject.toml is `source`.

    Read once per process and project; the files are only read when a file has a site.
    """
    pyproject = _load_toml(source) if source is not None else {}
    if fastapi_version is not None:
        fastapi = _fastapi_from_setting(fastapi_version)
    elif source is None:
        fastapi = FastAPITarget("unknown", "no pyproject.toml was found")
    else:
        fastapi = _fastapi_from_files(pyproject, source)
    return ProjectFacts(fastapi)


def project_facts(config: Config) -> ProjectFacts:
    return read_project(config.fastapi_version, config.source)


@lru_cache(maxsize=64)
def declared_packages(source: Path | None) -> frozenset[str]:
    """Canonical names of every package pyproject.toml `source` depends on (dependencies,
    optional dependencies, Poetry dependencies)."""
    pyproject = _load_toml(source) if source is not None else {}
    specs = _strings(_at(pyproject, "project", "dependencies"))
    for array in _values(_at(pyproject, "project", "optional-dependencies")):
        specs += _strings(array)
    poetry = _at(pyproject, "tool", "poetry", "dependencies")
    names = {_canonical_name(name) for name in poetry} if isinstance(poetry, Mapping) else set()
    for spec in specs:
        requirement = _requirement(spec)
        if requirement is not None:
            names.add(_canonical_name(requirement.name))
    return frozenset(names)


# -- the modules Python sees: import roots, names, imports ---------------------------------

_ROOT_MARKERS = ("pyproject.toml", ".git")
# The ini files that may set pytest's pythonpath, mypy's mypy_path, setuptools' package_dir.
_INI_FILES = ("setup.cfg", "tox.ini", "pytest.ini", "mypy.ini", ".mypy.ini")


def project_root(paths: Sequence[Path]) -> Path | None:
    """The nearest directory holding pyproject.toml or .git at or above all of `paths`
    (resolved); None when there is none."""
    resolved = [Path(os.path.realpath(p)) for p in paths] or [Path(os.path.realpath("."))]
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    start = common if common.is_dir() else common.parent
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in _ROOT_MARKERS):
            return directory
    return None


def _path_list(value: Any, separators: str = ",") -> list[str]:
    """A setting that is a list of paths or one string of them (`a:b`, `a, b`, `a b`)."""
    if isinstance(value, str):
        return [p for p in re.split(f"[{re.escape(separators)}\\s]+", value) if p]
    return _strings(value)


def _declared_roots(root: Path) -> list[str]:
    """The directories the project's own settings put on sys.path, relative to `root`:
    setuptools' package-dir and packages.find, Poetry and Hatch package sources, pytest's
    `pythonpath`, mypy's `mypy_path`, ruff's `src` (pyproject.toml, ruff.toml, _INI_FILES)."""
    doc = _load_toml(root / "pyproject.toml")
    found: list[str] = []
    setuptools = _at(doc, "tool", "setuptools")
    package_dir = _at(setuptools, "package-dir")
    for package, directory in package_dir.items() if isinstance(package_dir, Mapping) else ():
        if not isinstance(directory, str):
            continue
        if package == "":
            found.append(directory)
        elif "." not in package and Path(directory).name == package:
            found.append(str(Path(directory).parent))  # {"pkg" = "lib/pkg"}: lib/
    found += _path_list(_at(setuptools, "packages", "find", "where"))
    for package in _at(doc, "tool", "poetry", "packages") or ():
        if isinstance(package, Mapping) and isinstance(package.get("from"), str):
            found.append(package["from"])
    for package in _strings(_at(doc, "tool", "hatch", "build", "targets", "wheel", "packages")):
        found.append(str(Path(package).parent))
    found += _path_list(_at(doc, "tool", "pytest", "ini_options", "pythonpath"), " ")
    found += _path_list(_at(doc, "tool", "mypy", "mypy_path"), ",:")
    found += _path_list(_at(doc, "tool", "ruff", "src"))
    for name in ("ruff.toml", ".ruff.toml"):
        found += _path_list(_at(_load_toml(root / name), "src"))
    ini = configparser.ConfigParser(interpolation=None)
    try:
        ini.read([root / name for name in _INI_FILES], encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return found
    dirs = ini.get("options", "package_dir", fallback="")
    found += [m.group(1) for m in re.finditer(r"(?m)^\s*=\s*(\S+)", dirs)]
    for section in ("tool:pytest", "pytest"):  # (setup.cfg's name, the others')
        found += _path_list(ini.get(section, "pythonpath", fallback=""), " ")
    found += _path_list(ini.get("mypy", "mypy_path", fallback=""), ",:")
    return found


def package_name(path: Path, is_file: Callable[[Path], bool] = Path.is_file) -> str:
    """`a/b/c.py` -> `b.c` when only `b/` is a package (has __init__.py): the name the
    module has when its directory's top (`a/`) is on sys.path."""
    return _package_name(str(path), lambda init: is_file(Path(init)))


def _package_name(
    path: str, is_file: Callable[[str], bool], packages: dict[str, list[str]] | None = None
) -> str:
    """`package_name` of the path spelt `path` (as str(Path) spells it), on strings: the
    layout names every file of the project, and pathlib's objects were most of the cost.
    `packages`: a directory -> the names of it and the packages above it, innermost first,
    kept for the next file of the same directory (of the same `is_file`)."""
    name = _name(path)
    stem = _stem(name)
    parts = [] if name == "__init__.py" else [stem]
    directory = _parent(path)
    above = None if packages is None else packages.get(directory)
    if above is None:
        above, package = [], directory
        while is_file(_init_of(package)):
            above.append(_name(package))
            package = _parent(package)
        if packages is not None:
            packages[directory] = above
    parts += above
    return ".".join(reversed(parts)) or stem


# Path's `parent`, `name`, `stem` and `/ "__init__.py"`, on paths spelt as str(Path) spells
# them (no `//` but a leading one, no trailing `/`, no `.` part but the path `.` itself).


def _parent(path: str) -> str:
    cut = path.rfind("/")
    if cut < 0:
        return "."
    head = path[:cut]
    return head if head.strip("/") else path[: cut + 1]  # ("/a" -> "/", "//a" -> "//")


def _name(path: str) -> str:
    name = path[path.rfind("/") + 1 :]
    return "" if name == "." else name


def _stem(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def _init_of(directory: str) -> str:
    if directory == ".":
        return "__init__.py"
    return directory + "__init__.py" if directory.endswith("/") else directory + "/__init__.py"


def _parents(path: str) -> Iterator[str]:
    """str() of each of `Path(path).parents`, `path` spelt as str(Path) spells it."""
    while (parent := _parent(path)) != path:
        yield parent
        path = parent


def _package_top(path: Path, is_file: Callable[[Path], bool]) -> Path:
    """The directory above `path`'s packages: for a script, its own directory."""
    directory = path.parent
    while is_file(directory / "__init__.py"):
        directory = directory.parent
    return directory


@dataclass(frozen=True)
class Resolved:
    """What an import names: `qualname` with the module part spelt by its index name, or
    the files it may be (`candidates`, two or more) when Python could pick either."""

    qualname: str
    candidates: tuple[str, ...] = ()


class Layout:
    """The modules of one project as Python sees them. A file is named as Python names it
    when its package's top directory is on sys.path (`package_name`); files that would
    share a name (`main.py` of two services) are told apart by the directories above them
    (`svc_a.main`, `svc_b.main`), so that no fact of one is taken for the other's.

    An import is resolved as Python resolves it for the importing file: its package's top
    directory first (a script sees its own directory), then the project root and the
    import roots the project declares, with namespace packages, then its own directory;
    else by name among the project's files, where two or more files of that name make it
    ambiguous.
    """

    def __init__(
        self,
        root: Path | None,
        files: Iterable[Path | str],
        roots: Sequence[Path] = (),
        real_paths: Mapping[Path, str] | None = None,
    ):
        self.root = root
        # path -> its resolved path, for the paths the run found its files by (see
        # discover's `real_paths`): the index names each file by its resolved path.
        self.real_paths: Mapping[Path, str] = real_paths or {}
        # (a str is taken as it is: spelt as str(Path) spells it, as os.path.realpath does)
        self.files = frozenset(map(str, files))
        dirs: set[str] = set()
        for file in self.files:
            for parent in _parents(file):
                if parent in dirs:
                    break  # (and so are the ones above it)
                dirs.add(parent)
        self.dirs = frozenset(dirs)
        self.roots = tuple(dict.fromkeys(str(r) for r in roots if str(r) in self.dirs))
        by_name: dict[str, list[str]] = {}
        packages: dict[str, list[str]] = {}  # (the files of a directory share its packages)
        for file in sorted(self.files):
            name = _package_name(file, self.files.__contains__, packages)
            by_name.setdefault(name, []).append(file)
        self._by_name = {name: tuple(found) for name, found in by_name.items()}
        self._names: dict[str, str] = {}
        taken = set(by_name)
        for name, found in by_name.items():
            if len(found) > 1:
                self._names.update(_told_apart(name, found, taken, self._is_file))
        self._resolved: dict[tuple[str, str, str], Resolved | None] = {}
        self._named: dict[str, str] = {}  # file -> name_of(it)
        # importer -> its resolve() directories: one module's imports all ask them
        self._dirs_of: dict[Path, tuple[str, ...]] = {}

    @classmethod
    def of(
        cls,
        root: Path | None,
        files: Iterable[Path | str],
        real_paths: Mapping[Path, str] | None = None,
    ) -> Layout:
        """The layout of the project at `root` made of `files` (resolved paths); see
        `real_paths` above."""
        if root is None:
            return cls(None, files, real_paths=real_paths)
        # The root (the working directory tools run from), what the project declares, and
        # a src layout, declared or not.
        roots = [root, *(root / d for d in _declared_roots(root)), root / "src"]
        return cls(root, files, [Path(os.path.realpath(r)) for r in roots], real_paths)

    def __repr__(self) -> str:
        # What the result cache's salt sees (asdict(Config) -> repr): what names modules.
        told = ",".join(f"{k}={v}" for k, v in sorted(self._names.items()))
        digest = hashlib.sha256(f"{self.roots}|{told}".encode()).hexdigest()[:16]
        return f"Layout({self.root}, {digest})"

    def __deepcopy__(self, memo: Any) -> Layout:
        return self  # never changed once made

    def holds(self, path: Path) -> bool:
        """Is the file at `path` (resolved) one of the project's?"""
        return str(path) in self.files

    def _is_file(self, path: Path) -> bool:
        return str(path) in self.files

    def name_of(self, path: Path) -> str | None:
        """The index's name of the module at `path` (resolved); None if not the project's."""
        key = str(path)
        if key not in self.files:
            return None
        # (asked for each import that resolves to the file: once per file is enough)
        name = self._named.get(key)
        if name is None:
            name = self._named[key] = self._names.get(key) or self.python_name(path)
        return name

    def python_name(self, path: Path) -> str:
        """The name Python gives the module at `path` (resolved), from its packages."""
        key = str(path)
        if key in self.files:
            return _package_name(key, self.files.__contains__)
        return package_name(path)

    def resolve(self, importer: Path, dotted: str) -> Resolved | None:
        """What the absolute import `dotted` names in the module at `importer`, or None
        when no module of the project is it (a library, the stdlib)."""
        # Its package's top directory, then the import roots; last its own directory,
        # which is the top for a script, and sys.path[0] for a module of a package run
        # from there (a service's `uvicorn main:app` beside a stray __init__.py).
        dirs = self._dirs_of.get(importer)
        if dirs is None:
            top = _package_top(importer, self._is_file)
            dirs = self._dirs_of[importer] = (str(top), *self.roots, str(importer.parent))
        key = (dirs[0], dirs[-1], dotted)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(tuple(dict.fromkeys(dirs)), dotted.split("."))
        return self._resolved[key]

    def _resolve(self, dirs: Sequence[str], parts: list[str]) -> Resolved | None:
        found = self._lookup(dirs, parts)
        if found is not None:
            file, used = found
            name = self.name_of(Path(file))
            return None if name is None else Resolved(".".join([name, *parts[used:]]))
        for used in range(len(parts), 0, -1):  # the longest prefix that names files
            files = self._by_name.get(".".join(parts[:used]))
            if files is None:
                continue
            if len(files) > 1:
                return Resolved(".".join(parts), files)
            name = self.name_of(Path(files[0]))
            return None if name is None else Resolved(".".join([name, *parts[used:]]))
        return None

    def _lookup(self, dirs: Sequence[str], parts: Sequence[str]) -> tuple[str, int] | None:
        """(file, how many of `parts` name it) for the longest module prefix of `parts`
        found through `dirs`, in the order of Python's path finder: a package or module
        in the first directory that has one; else the namespace package of them all."""
        head, rest = parts[0], parts[1:]
        portions = []
        for directory in dirs:
            base = f"{directory}/{head}"
            if f"{base}/__init__.py" in self.files:
                deeper = self._lookup([base], rest) if rest else None
                return (deeper[0], deeper[1] + 1) if deeper else (f"{base}/__init__.py", 1)
            if f"{base}.py" in self.files:
                return f"{base}.py", 1
            if base in self.dirs:
                portions.append(base)
        if portions and rest:
            deeper = self._lookup(portions, rest)
            if deeper is not None:
                return deeper[0], deeper[1] + 1
        return None


def _told_apart(
    name: str, files: Sequence[str], taken: set[str], is_file: Callable[[Path], bool]
) -> dict[str, str]:
    """Names for the files that would all be `name`: the directories above each, from
    where their package tops part, as a prefix (`svc_a.main`), unique among `taken`. A file
    whose top directory is where they part keeps `name`."""
    # From where the tops part, not the files: a package's top can lie above the
    # files' common directory (`app/__init__.py` beside the script `app/server/app.py`).
    tops = {file: _package_top(Path(file), is_file) for file in files}
    common = Path(os.path.commonpath(list(tops.values())))
    found: dict[str, str] = {}
    for file in files:
        top = tops[file]
        if top == common:
            continue
        prefix = [part.replace(".", "_") for part in top.relative_to(common).parts]
        candidate = ".".join([*prefix, name])
        while candidate in taken:  # a module of the project has that name already
            candidate = f"_{candidate}"
        taken.add(candidate)
        found[file] = candidate
    return found


@dataclass(frozen=True)
class Declared:
    """The versions of one package (or of Python) the project declares or locks."""

    locked: tuple[tuple[Version, str], ...]  # (version, lock file)
    ranges: tuple[tuple[SpecifierSet, str], ...]  # (range, where it is declared)


@lru_cache(maxsize=256)
def declared_versions(source: Path | None, package: str) -> Declared:
    """What the project whose pyproject.toml is `source` says of `package` ("python" for
    requires-python). Lock files are read first, as for FastAPI above."""
    if source is None:
        return Declared((), ())
    pyproject = _load_toml(source)
    if package == "python":
        found = requires_python(pyproject, source.parent)
        where = f"requires-python = {found[1]!r}" if found is not None else ""
        return Declared((), ((found[0], where),) if found is not None else ())
    name = _canonical_name(package)
    locked = tuple(_locked_fastapi(source.parent, name))
    ranges = tuple(_declared_fastapi(pyproject, source.name, source.parent, name))
    return Declared(locked, ranges)


# -- the import sorter -----------------------------------------------------

# isort reads these itself (isort.Config(settings_path=...)); their presence says isort is used.
_ISORT_FILES = (".isort.cfg", "setup.cfg", "tox.ini", ".editorconfig")
_RUFF_FILES = (".ruff.toml", "ruff.toml")
# ruff's `[lint.isort]` keys that mean the same in isort (`-` for `_`); the others (section
# names, `no-lines-before`) are spelt differently there and left to isort's defaults.
_RUFF_ISORT_LISTS = (
    "known-first-party",
    "known-third-party",
    "known-local-folder",
    "extra-standard-library",
    "force-sort-within-sections",
    "force-single-line",
    "combine-as-imports",
    "order-by-type",
    "case-sensitive",
    "split-on-trailing-comma",
    "lines-after-imports",
    "lines-between-types",
    "from-first",
    "force-to-top",
    "force-wrap-aliases",
    "single-line-exclusions",
    "length-sort",
    "no-sections",
)


@dataclass(frozen=True, eq=False)
class ImportSorter:
    """How the project sorts its imports: `tool` is "ruff", "isort" or "" (none configured,
    then `settings` is isort's default profile, used to place groups and nothing more)."""

    tool: str
    settings: Any  # isort.Config


def _ruff_selects_isort(table: Mapping[str, Any]) -> bool:
    lint = table.get("lint") if isinstance(table.get("lint"), Mapping) else {}
    selectors = [
        *_strings(_at(lint, "select")),
        *_strings(_at(lint, "extend-select")),
        *_strings(table.get("select")),
        *_strings(table.get("extend-select")),
    ]
    # An `[lint.isort]` table alone does not make ruff check the imports: `I` must be on.
    return any(s == "ALL" or re.fullmatch(r"I\d{0,3}", s) for s in selectors)


def _ruff_settings(table: Mapping[str, Any], root: Path) -> Any:
    """ruff's isort settings as isort's: ruff's isort is black-compatible (isort's "black"
    profile) with ruff's line length, and its `src` roots tell first-party modules."""
    import isort

    options = _at(table, "lint", "isort") or table.get("isort") or {}
    overrides: dict[str, Any] = {
        key.replace("-", "_"): options[key] for key in _RUFF_ISORT_LISTS if key in options
    }
    length = table.get("line-length", 88)
    src = _strings(table.get("src")) or [".", "src"]
    return isort.Config(
        profile="black",
        line_length=length if isinstance(length, int) else 88,
        src_paths=tuple(str(root / s) for s in src),
        **overrides,
    )


@lru_cache(maxsize=64)
def import_sorter(root: Path | None) -> ImportSorter:
    """The import sorter of the project whose root (the directory of its pyproject.toml)
    is `root`: ruff when its configuration selects the `I` rules, else isort when it is
    configured there, else none (isort's defaults, rooted there, classify modules)."""
    import isort

    if root is None:
        return ImportSorter("", isort.Config())
    pyproject = _load_toml(root / "pyproject.toml")
    ruff = _at(pyproject, "tool", "ruff")
    for name in _RUFF_FILES:
        if (root / name).is_file():
            ruff = _load_toml(root / name)
    if isinstance(ruff, Mapping) and _ruff_selects_isort(ruff):
        return ImportSorter("ruff", _ruff_settings(ruff, root))
    configured = isinstance(_at(pyproject, "tool", "isort"), Mapping) or any(
        _isort_section(root / name) for name in _ISORT_FILES
    )
    try:
        settings = isort.Config(settings_path=str(root))
    except Exception:  # an isort configuration isort itself rejects: sort nothing by it
        return ImportSorter("", isort.Config(src_paths=(str(root), str(root / "src"))))
    if configured:
        return ImportSorter("isort", settings)
    return ImportSorter("", isort.Config(src_paths=(str(root), str(root / "src"))))


def _isort_section(path: Path) -> bool:
    if path.name == ".isort.cfg":
        return path.is_file()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\[(tool:)?isort\]", text, re.MULTILINE) is not None
