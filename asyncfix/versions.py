"""The library versions a rewrite relies on, checked against what the project declares.

One table: each entry is an API or a behaviour some rewrite emits or relies on, the first
version that has it (and, for a behaviour that changed again, the first that does not), and
in a comment the library's own changelog that says so. A rewrite asks `missing(config,
entry, near=path)`; where the project's declared range (or lock file) admits a version
without it, the rewrite is refused with that reason. The declarations read are those of the
file's own service: the nearest directory from the file up to the project root that
declares the package (a `src/requirements.txt`, each service's own requirements in a
repository of several), else the configuration's pyproject.toml. No declared version (an
unpinned requirement, no file): nothing is refused, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from asyncfix.config import Config
from asyncfix.project import (
    Declared,
    FastAPITarget,
    bounds,
    declared_versions,
    project_facts,
    project_root,
    read_project,
)


@dataclass(frozen=True)
class Needs:
    package: str  # canonical distribution name; "python" for the interpreter
    since: Version
    what: str  # what the rewrite relies on, for the reason
    until: Version | None = None  # a behaviour that changed again in this version

    @property
    def label(self) -> str:
        window = f">= {self.since}" + (f", < {self.until}" if self.until else "")
        name = "Python" if self.package == "python" else self.package
        return f"{self.what} needs {name} {window}"


# FastAPI 0.93.0 release notes: "Add support for lifespan async context managers
# (superseding startup and shutdown events). PR #2944"; before it FastAPI(lifespan=...)
# lands in app.extra and the startup code never runs.
# https://fastapi.tiangolo.com/release-notes/#0930
FASTAPI_LIFESPAN = Needs("fastapi", Version("0.93"), "FastAPI(lifespan=...)")

# FastAPI 0.106.0 release notes: "Before FastAPI 0.106.0 ... the exit code in dependencies
# with yield was executed after the response was sent"; 0.118.0 release notes: "This
# behavior was reverted in 0.118.0, to make the exit code after yield be executed after
# the response is sent" (0.121.0 adds Depends(scope="function") for an early exit).
# https://fastapi.tiangolo.com/release-notes/#01060 and #01180
FASTAPI_EXIT_BEFORE_RESPONSE = Needs(
    "fastapi",
    Version("0.106"),
    "the code after `yield` running before the response is sent",
    until=Version("0.118"),
)

# SQLAlchemy 2.0 changelog / docs: "async_sessionmaker ... New in version 2.0."
# https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#sqlalchemy.ext.asyncio.async_sessionmaker
SQLALCHEMY_ASYNC_SESSIONMAKER = Needs("sqlalchemy", Version("2.0"), "async_sessionmaker")

# Python 3.9 "What's New": "Added asyncio.to_thread()" (bpo-32309).
# https://docs.python.org/3/whatsnew/3.9.html#asyncio
ASYNCIO_TO_THREAD = Needs("python", Version("3.9"), "asyncio.to_thread()")

# Python 3.9 "What's New": "Type hinting generics in standard collections" (PEP 585):
# `set[...]` (and `asyncio.Task[...]`) subscript at run time.
# https://docs.python.org/3/whatsnew/3.9.html#type-hinting-generics-in-standard-collections
GENERIC_ALIASES = Needs("python", Version("3.9"), "set[...] evaluated at run time")

# Python 3.11 "What's New": "Added the TaskGroup class" (gh-90908).
# https://docs.python.org/3/whatsnew/3.11.html#asyncio
ASYNCIO_TASK_GROUP = Needs("python", Version("3.11"), "asyncio.TaskGroup")

# orjson CHANGELOG.md: 2.3.0 "serializes dict instances sorted by keys ... if
# option=orjson.OPT_SORT_KEYS", 2.5.0 "serializes dict keys of type other than str if
# option=orjson.OPT_NON_STR_KEYS", 2.6.0 "pretty prints with an indentation of two spaces
# if option=orjson.OPT_INDENT_2". https://github.com/ijl/orjson/blob/master/CHANGELOG.md
ORJSON_OPTIONS = {
    "OPT_SORT_KEYS": Needs("orjson", Version("2.3"), "orjson.OPT_SORT_KEYS"),
    "OPT_NON_STR_KEYS": Needs("orjson", Version("2.5"), "orjson.OPT_NON_STR_KEYS"),
    "OPT_INDENT_2": Needs("orjson", Version("2.6"), "orjson.OPT_INDENT_2"),
}

# httpx 0.20.0 release notes: "The `allow_redirects` flag is now `follow_redirects` and
# defaults to `False`"; the requests rewrite passes follow_redirects= to keep requests'
# redirects. https://github.com/encode/httpx/releases/tag/0.20.0
HTTPX_FOLLOW_REDIRECTS = Needs("httpx", Version("0.20"), "follow_redirects=")

# aiohttp 3.3.0 changelog: "Implement ClientTimeout class and support socket read timeout"
# (#2768): the requests rewrite's aiohttp.ClientTimeout(sock_connect=..., sock_read=...).
# https://docs.aiohttp.org/en/stable/changes.html (3.3.0, 2018-06-01)
AIOHTTP_CLIENT_TIMEOUT = Needs("aiohttp", Version("3.3"), "aiohttp.ClientTimeout(sock_read=...)")

TABLE = (
    FASTAPI_LIFESPAN,
    FASTAPI_EXIT_BEFORE_RESPONSE,
    SQLALCHEMY_ASYNC_SESSIONMAKER,
    ASYNCIO_TO_THREAD,
    GENERIC_ALIASES,
    ASYNCIO_TASK_GROUP,
    *ORJSON_OPTIONS.values(),
    HTTPX_FOLLOW_REDIRECTS,
    AIOHTTP_CLIENT_TIMEOUT,
)


def lowest(package: str) -> Version | None:
    """The lowest version of `package` that has every API the rewrites may emit from it
    (None: no entry), for `--add-deps` to write as the requirement's lower bound."""
    name = package.lower().replace("_", "-")
    found = [need.since for need in TABLE if need.package == name]
    return max(found) if found else None


def _inside(version: Version, need: Needs) -> bool:
    return version >= need.since and (need.until is None or version < need.until)


def _admits_other(spec: SpecifierSet, need: Needs) -> str | None:
    """Which versions outside [since, until) `spec` allows, or None. A spec with no bound
    at all (unpinned, or only `!=`) declares no version: None."""
    upper, lower = bounds(spec)
    if not upper and not lower:
        return None
    if not any(v >= need.since for v in lower):
        return f"versions before {need.since}"
    if need.until is not None and not any(
        v < need.until or (v == need.until and not inclusive) for v, inclusive in upper
    ):
        return f"{need.until} and later"
    return None


def missing(config: Config, need: Needs, near: str | Path | None = None) -> str | None:
    """Why a rewrite relying on `need` is refused for this project, or None. `near`: the
    file the rewrite is in (its service's declarations come first)."""
    if need.package == "fastapi" and config.fastapi_version is not None:
        setting = config.fastapi_version
        where = f'fastapi-version = "{setting}" in [tool.asyncfix]'
        try:
            pinned = Version(setting)
        except InvalidVersion:
            # Not a version: a specifier, validated when the configuration was read.
            other = _admits_other(SpecifierSet(setting), need)
            return f"{need.label}; {where} admits {other}" if other else None
        return None if _inside(pinned, need) else f"{need.label}; {where}"
    declared = _declared_near(config, need.package, near)
    if declared.locked:
        outside = [f"{v} in {name}" for v, name in declared.locked if not _inside(v, need)]
        return f"{need.label}; the project locks {need.package} {outside[0]}" if outside else None
    for spec, where in declared.ranges:
        other = _admits_other(spec, need)
        if other:
            return f"{need.label}; {where} admits {other}"
    return None


def declares(config: Config, package: str, near: str | Path | None = None) -> bool:
    """Does the project (`near`'s service first) already declare or lock `package`?"""
    declared = _declared_near(config, package, near)
    return bool(declared.locked or declared.ranges)


def _declared_near(config: Config, package: str, near: str | Path | None) -> Declared:
    """What the nearest directory at or above `near` (up to the project's root) declares of
    `package`, else what the configuration's pyproject.toml does."""
    return declared_versions(declaring_source(config, package, near), package)


def declaring_source(config: Config, package: str, near: str | Path | None) -> Path | None:
    """The pyproject.toml path (it need not exist: the directory's requirements, setup.cfg
    and lock files count) of the nearest directory at or above `near`, up to the project's
    root, that declares `package`; else the configuration's pyproject.toml."""
    if near is not None:
        top = _top(config)
        directory = Path(os.path.realpath(near)).parent
        for candidate in (directory, *directory.parents):
            if top is None or not candidate.is_relative_to(top):
                break
            found = declared_versions(candidate / "pyproject.toml", package)
            if found.locked or found.ranges:
                return candidate / "pyproject.toml"
            if candidate == top:
                break
    return config.source


def fastapi_target(config: Config, near: str | Path | None) -> FastAPITarget:
    """Where the FastAPI of `near`'s service is relative to 0.131 (ORJSONResponse's
    deprecation), read from the same declarations as `missing`."""
    if config.fastapi_version is not None:
        return project_facts(config).fastapi
    return read_project(None, declaring_source(config, "fastapi", near)).fastapi


def _top(config: Config) -> Path | None:
    """The directory the search for a file's declarations stops at."""
    if config.layout is not None and config.layout.root is not None:
        return config.layout.root
    if config.source is not None:
        return Path(os.path.realpath(config.source.parent))
    # No pyproject.toml or .git (an unpacked archive): the directory the run started in,
    # so that a requirements.txt there still decides; files outside it read nothing. (A
    # directory that is a project's root but not this run's is none of its business.)
    cwd = Path(os.path.realpath(Path.cwd()))
    return None if project_root([cwd]) == cwd else cwd
