"""`[tool.asyncfix]` in the nearest pyproject.toml; command-line flags override it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncfix.project import Layout

import pathspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Where test code is (gitignore patterns over the paths asyncfix shows): `test-paths`.
TEST_PATHS = ("test_*.py", "*_test.py", "conftest.py", "tests/", "test/")
_TESTS_VALUES = ("correctness", "all")
_LIST_KEYS = ("select", "extend-select", "ignore", "exclude", "extend-exclude", "test-paths")
# Top-level keys that are not lists of strings.
_SCALAR_KEYS: dict[str, type[Any]] = {
    "fastapi-version": str,
    "ignore-bare-noqa": bool,
    "force-exclude": bool,
    "tests": str,
    "max-file-size": int,
}
# Gitignore-style pattern (relative to the configuration's directory) -> codes to ignore.
_PER_FILE_IGNORES = "per-file-ignores"
# Bytes: a larger file is reported and left alone, so that no file holds the run hostage.
# A rewrite's time grows with the size, but its memory peaks near 55 KB per line
# (bench/scaling.py; libcst's tree alone is 12 KB): a 400 KiB module of routes (16k lines)
# is near 0.9 GB, and 5 MB would need several GB (docs/architecture.md, "Speed").
DEFAULT_MAX_FILE_SIZE = 400 << 10


_KIND_NAMES: dict[type[Any], str] = {str: "a string", int: "an integer", bool: "a boolean"}


class ConfigError(Exception):
    """A configuration problem the user must fix; reported as a usage error."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ("AF",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # Raw option tables per family; each family validates its own keys.
    families: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fastapi_version: str | None = None
    # A bare noqa comment (naming no code) is for other linters: it suppresses nothing here.
    ignore_bare_noqa: bool = False
    # `exclude` also applies to files named on the command line (what pre-commit passes).
    force_exclude: bool = False
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Sites (display path, line, code) suppressed as if commented `# asyncfix: ignore[CODE]`;
    # never read from a file: `apply --min-share` leaves the findings below the share so.
    suppress: tuple[tuple[str, int, str], ...] = ()
    # "correctness": in test code only the codemods that fix bugs run (IN_TESTS); "all":
    # every one.
    tests: str = "correctness"
    test_paths: tuple[str, ...] = TEST_PATHS
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # 0: no limit
    # The pyproject.toml it came from, for relative paths and messages.
    source: Path | None = None
    # The modules of the project being run on (set by the driver for a run).
    layout: Layout | None = None

    @property
    def root(self) -> Path:
        """Where `exclude` and `per-file-ignores` patterns start: the configuration
        file's directory (as in ruff), else the working directory."""
        return self.source.parent if self.source is not None else Path.cwd()

    def too_large(self, data: bytes) -> bool:
        """Is this source over `max-file-size`: reported, never parsed with libcst?"""
        return 0 < self.max_file_size < len(data)

    def family_options(self, family: str) -> Mapping[str, Any]:
        return self.families.get(family, {})

    def in_test_code(self, path: str) -> bool:
        """Is `path` (as asyncfix shows it) test code where only the codemods that fix
        bugs run (`tests`, `test-paths`)?"""
        return self.tests != "all" and _test_spec(self.test_paths).match_file(
            path.removeprefix("./")
        )

    def with_overrides(
        self,
        *,
        select: Sequence[str] = (),
        ignore: Sequence[str] = (),
        exclude: Sequence[str] = (),
        force_exclude: bool = False,
    ) -> Config:
        return replace(
            self,
            select=tuple(select) or self.select,
            ignore=self.ignore + tuple(ignore),
            exclude=self.exclude + tuple(exclude),
            force_exclude=self.force_exclude or force_exclude,
        )


@lru_cache(maxsize=16)
def _test_spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start`."""
    start = Path(os.path.realpath(start))  # Path.resolve raises on a symlink loop
    for directory in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    table = doc.get("tool", {}).get("asyncfix", {})
    return parse_table(table, path)


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    # A bare string is an error, not a list of one: `select = "AF2"` reads like it works.
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _version_or_specifier(value: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        Version(value)
        return True
    except InvalidVersion:
        pass
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        return False
    return bool(value.strip())


def parse_table(table: Mapping[str, Any], path: Path | None) -> Config:
    where = f"{path}: [tool.asyncfix]" if path else "[tool.asyncfix]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    lists: dict[str, tuple[str, ...]] = {}
    families: dict[str, Mapping[str, Any]] = {}
    scalars: dict[str, Any] = {}
    per_file: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        if key in _LIST_KEYS:
            lists[key] = _string_list(value, f"{where} {key}")
        elif key in _SCALAR_KEYS:
            kind = _SCALAR_KEYS[key]
            # (bool is an int to isinstance: never a number of bytes)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise ConfigError(f"{where} {key} must be {_KIND_NAMES[kind]}")
            if key == "max-file-size" and value < 0:
                raise ConfigError(f"{where} {key} must be a number of bytes (0: no limit)")
            if key == "tests" and value not in _TESTS_VALUES:
                raise ConfigError(f'{where} tests must be "correctness" or "all", not {value!r}')
            if key == "fastapi-version" and not _version_or_specifier(value):
                raise ConfigError(
                    f'{where} {key} must be a version ("0.131") or a specifier (">=0.131"), '
                    f"not {value!r}"
                )
            scalars[key] = value
        elif key == _PER_FILE_IGNORES:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where} {key} must be a table of pattern = [codes]")
            per_file = {p: _string_list(v, f"{where} {key} {p!r}") for p, v in value.items()}
        elif key in _families():
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where} {key} must be a table")
            families[key] = dict(value)
        else:
            known = ", ".join((*_LIST_KEYS, *_SCALAR_KEYS, _PER_FILE_IGNORES, *_families()))
            raise ConfigError(f"{where}: unknown key {key!r} (known: {known})")
    return Config(
        select=lists.get("select", ("AF",)) + lists.get("extend-select", ()),
        ignore=lists.get("ignore", ()),
        exclude=lists.get("exclude", ()) + lists.get("extend-exclude", ()),
        families=families,
        fastapi_version=scalars.get("fastapi-version"),
        ignore_bare_noqa=scalars.get("ignore-bare-noqa", False),
        force_exclude=scalars.get("force-exclude", False),
        per_file_ignores=per_file,
        tests=scalars.get("tests", "correctness"),
        test_paths=lists.get("test-paths", TEST_PATHS),
        max_file_size=scalars.get("max-file-size", DEFAULT_MAX_FILE_SIZE),
        source=path,
    )


def _families() -> tuple[str, ...]:
    # The codemod registry's families. Imported here, not at the top: the registry imports
    # every family module (and libcst), which only a table that names a family needs.
    from asyncfix.codemods import families

    return families()
