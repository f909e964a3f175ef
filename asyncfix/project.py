"""What the project being rewritten declares: its FastAPI version, the Pythons it supports,
the packages it depends on. Read from its own files (pyproject.toml, requirements*.txt,
lock files), never by importing anything. Shared by the families that need it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from asyncfix.config import Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# -- FastAPI version, supported Pythons ------------------------------------

FASTAPI_DEPRECATES_ORJSON = Version("0.131")
_TO_THREAD_SINCE = Version("3.9")
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
    # The requires-python that admits a Python without asyncio.to_thread, if any.
    python_before_3_9: str | None


def _bump(release: Sequence[int]) -> Version:
    """The first version after every version starting with `release` (0.110 -> 0.111)."""
    return Version(".".join(map(str, [*release[:-1], release[-1] + 1])))


def _bounds(spec: SpecifierSet) -> tuple[list[tuple[Version, bool]], list[Version]]:
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
    upper, lower = _bounds(spec)
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
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _at(doc: Any, *keys: str) -> Any:
    """`doc[k1][k2]...`, or None where a table is missing or is not a table."""
    for key in keys:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _values(table: Any) -> list[Any]:
    return list(table.values()) if isinstance(table, Mapping) else []


def _strings(array: Any) -> list[str]:
    return [v for v in array if isinstance(v, str)] if isinstance(array, list) else []


def _requirement_specs(lines: Iterable[str], where: str) -> list[tuple[SpecifierSet, str]]:
    found = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == "fastapi":
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
    pyproject: Mapping[str, Any], name: str, directory: Path
) -> list[tuple[SpecifierSet, str]]:
    """Every constraint on fastapi the project declares, with where it was read."""
    lines = _strings(_at(pyproject, "project", "dependencies"))
    for array in _values(_at(pyproject, "project", "optional-dependencies")):
        lines += _strings(array)
    for array in _values(_at(pyproject, "dependency-groups")):
        lines += _strings(array)  # {include-group = ...} entries are skipped
    found = _requirement_specs(lines, name)
    poetry = _at(pyproject, "tool", "poetry")
    tables = [_at(poetry, "dependencies"), _at(poetry, "dev-dependencies")]
    tables += [_at(group, "dependencies") for group in _values(_at(poetry, "group"))]
    for table in tables:
        for package, constraint in table.items() if isinstance(table, Mapping) else ():
            if canonicalize_name(package) != "fastapi":
                continue
            text = constraint.get("version") if isinstance(constraint, Mapping) else constraint
            spec = poetry_specifier(text) if isinstance(text, str) else None
            found.append((spec or SpecifierSet(), f"fastapi = {text!r} in {name}"))
    for path in sorted(directory.glob("requirements*.txt")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found += _requirement_specs(_requirements_lines(text), path.name)
    return found


def _locked_fastapi(directory: Path) -> list[tuple[Version, str]]:
    found = []
    for name in _LOCK_FILES:
        path = directory / name
        if not path.is_file():
            continue
        packages = _load_toml(path).get("package")
        for package in packages if isinstance(packages, list) else ():
            if (
                not isinstance(package, Mapping)
                or canonicalize_name(str(package.get("name"))) != "fastapi"
            ):
                continue
            try:
                found.append((Version(str(package.get("version"))), name))
            except InvalidVersion:
                continue
    return found


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


def _python_before_3_9(pyproject: Mapping[str, Any]) -> str | None:
    text = _at(pyproject, "project", "requires-python")
    if isinstance(text, str):
        try:
            spec: SpecifierSet | None = SpecifierSet(text)
        except InvalidSpecifier:
            return None
    else:
        text = _at(pyproject, "tool", "poetry", "dependencies", "python")
        spec = poetry_specifier(text) if isinstance(text, str) else None
    if spec is None or classify(spec, _TO_THREAD_SINCE) == "new":
        return None
    return str(text)


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
    return ProjectFacts(fastapi, _python_before_3_9(pyproject))


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
    names = {canonicalize_name(name) for name in poetry} if isinstance(poetry, Mapping) else set()
    for spec in specs:
        try:
            names.add(canonicalize_name(Requirement(spec).name))
        except InvalidRequirement:
            continue
    return frozenset(names)


# -- the import sorter -----------------------------------------------------

# isort reads these itself (isort.Config(settings_path=...)); their presence says isort is used.
_ISORT_FILES = (".isort.cfg", "setup.cfg", "tox.ini", ".editorconfig")
_RUFF_FILES = (".ruff.toml", "ruff.toml")
# ruff's `[lint.isort]` keys that mean the same in isort (`-` for `_`).
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
