"""`apply --add-deps`: the packages the rewrites now import, added to the project's list.

`[project] dependencies` in pyproject.toml when the project declares them there (PEP 621:
setuptools, hatch, PDM, uv, ...), else Poetry's `[tool.poetry.dependencies]`, otherwise
`requirements.txt` (or the first `requirements*.txt`). Only the list is touched: its
layout, quotes, comments and the rest of the file stay as they were. Each package is
written with the lower bound the emitted APIs need (asyncfix/versions.py), where known.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from asyncfix.files import display_path
from asyncfix.report import FileError, Summary
from asyncfix.review import Change
from asyncfix.versions import lowest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class DepsError(Exception):
    """The dependencies cannot be added automatically; the message says what to do."""


@dataclass(frozen=True)
class DepsEdit:
    path: Path
    original: bytes
    new: bytes
    added: tuple[str, ...]


def canonical(requirement: str) -> str:
    """The normalized project name of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    name = match.group(1) if match else requirement.strip()
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement(package: str) -> str:
    """`package` as a requirement, bounded below by what the rewrites use of it."""
    floor = lowest(package)
    return package if floor is None else f"{package}>={floor}"


def add_dependencies(project_dir: Path, packages: Iterable[str]) -> DepsEdit | None:
    """The edit that declares `packages` in the project at `project_dir` (None: all there)."""
    wanted = sorted(set(packages), key=canonical)
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        data = pyproject.read_bytes()
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DepsError(f"{pyproject}: cannot read: {exc}") from exc
        project = doc.get("project")
        if isinstance(project, dict) and isinstance(project.get("dependencies"), list):
            have = {canonical(r) for r in project["dependencies"] if isinstance(r, str)}
            missing = [p for p in wanted if canonical(p) not in have]
            if not missing:
                return None
            text = data.decode("utf-8")
            added = [requirement(p) for p in missing]
            new = _add_to_pyproject(text, added)
            check = tomllib.loads(new)["project"]["dependencies"]
            if check != [*project["dependencies"], *added]:
                raise DepsError(f"{pyproject}: could not edit [project] dependencies safely")
            return DepsEdit(pyproject, data, new.encode("utf-8"), tuple(added))
        poetry = doc.get("tool", {}).get("poetry", {}).get("dependencies")
        if isinstance(poetry, dict):
            return _add_to_poetry(pyproject, data, poetry, wanted)
    requirements = _requirements_file(project_dir)
    if requirements is None:
        raise DepsError(
            f"no [project] or Poetry dependencies in {pyproject} and no requirements*.txt in "
            f"{project_dir}; add these packages yourself: {', '.join(wanted)}"
        )
    data = requirements.read_bytes()
    text = data.decode("utf-8", errors="surrogateescape")
    have = {
        canonical(line)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    }
    missing = [p for p in wanted if canonical(p) not in have]
    if not missing:
        return None
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith(("\n", "\r")):
        text += newline
    added = [requirement(p) for p in missing]
    text += "".join(f"{p}{newline}" for p in added)
    encoded = text.encode("utf-8", errors="surrogateescape")
    return DepsEdit(requirements, data, encoded, tuple(added))


_POETRY_TABLE = re.compile(
    r"^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*poetry[ \t]*\.[ \t]*dependencies[ \t]*\]"
    r"[ \t]*(#[^\r\n]*)?\r?$",
    re.MULTILINE,
)


def _add_to_poetry(
    pyproject: Path, data: bytes, declared: dict[str, object], wanted: list[str]
) -> DepsEdit | None:
    """`name = ">=X"` lines at the end of `[tool.poetry.dependencies]` (`"*"`: no bound)."""
    have = {canonical(name) for name in declared}
    missing = [p for p in wanted if canonical(p) not in have]
    if not missing:
        return None
    text = data.decode("utf-8")
    table = _POETRY_TABLE.search(text)
    if table is None:  # an inline or dotted table: not a layout to edit by hand
        raise DepsError(
            f"{pyproject}: [tool.poetry.dependencies] is not a plain table; add these "
            f"packages yourself: {', '.join(requirement(p) for p in missing)}"
        )
    end_match = _ANY_TABLE.search(text, table.end())
    end = end_match.start() if end_match else len(text)
    # After the table's last non-blank line: the blank lines before the next table stay.
    body = text[table.end() : end]
    last = len(body.rstrip(" \t\r\n"))
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = []
    for package in missing:
        floor = lowest(package)
        lines.append(f'{package} = "{">=" + str(floor) if floor else "*"}"')
    insert = "".join(f"{newline}{line}" for line in lines)
    at = table.end() + last
    new = text[:at] + insert + text[at:]
    check = tomllib.loads(new)["tool"]["poetry"]["dependencies"]
    if {k: v for k, v in check.items() if k in declared} != declared or len(check) != len(
        declared
    ) + len(missing):
        raise DepsError(f"{pyproject}: could not edit [tool.poetry.dependencies] safely")
    return DepsEdit(pyproject, data, new.encode("utf-8"), tuple(lines))


def dependency_changes(
    pyproject: Path | None, summary: Summary, errors: list[FileError]
) -> list[Change]:
    """`apply --add-deps`: the edit that declares `summary.packages` in the project of
    `pyproject` (the cwd without one), as a change like any other; a problem is an error."""
    project_dir = pyproject.parent if pyproject is not None else Path.cwd()
    try:
        edit = add_dependencies(project_dir, summary.packages)
    except DepsError as exc:
        errors.append(FileError(display_path(project_dir / "pyproject.toml"), 1, 1, str(exc)))
        return []
    if edit is None:
        return []
    summary.packages = set()  # declared now: the summary need not list them
    click.echo(f"asyncfix: adding to {display_path(edit.path)}: {', '.join(edit.added)}", err=True)
    return [Change(display_path(edit.path), edit.path, edit.original, edit.new)]


def _requirements_file(project_dir: Path) -> Path | None:
    plain = project_dir / "requirements.txt"
    if plain.is_file():
        return plain
    found = sorted(p for p in project_dir.glob("requirements*.txt") if p.is_file())
    return found[0] if found else None


_TABLE = re.compile(r"^\s*\[\s*project\s*\]\s*(#.*)?$", re.MULTILINE)
_ANY_TABLE = re.compile(r"^\s*\[", re.MULTILINE)
_KEY = re.compile(r"^[ \t]*dependencies[ \t]*=[ \t]*\[", re.MULTILINE)


def _add_to_pyproject(text: str, missing: list[str]) -> str:
    table = _TABLE.search(text)
    if table is None:
        raise DepsError("pyproject.toml: [project] table not found")
    end_match = _ANY_TABLE.search(text, table.end())
    table_end = end_match.start() if end_match else len(text)
    key = _KEY.search(text, table.end(), table_end)
    if key is None:
        raise DepsError("pyproject.toml: `dependencies = [` not found in [project]")
    open_at = key.end() - 1
    close_at, last = _scan_array(text, open_at)
    quote = '"'
    if last is not None:
        quote = _last_quote(text, open_at, close_at) or quote
    items = [f"{quote}{p}{quote}" for p in missing]
    body = text[open_at + 1 : close_at]
    if last is None:  # an empty list
        if "\n" in body:
            indent = "    "
            newline = "\r\n" if "\r\n" in text else "\n"
            insert = "".join(f"{newline}{indent}{item}," for item in items)
            return text[: open_at + 1] + insert + text[open_at + 1 :]
        return text[: open_at + 1] + ", ".join(items) + text[close_at:]
    if "\n" not in body:  # one line: ["a", "b"]
        sep = " " if text[last] == "," else ", "
        return text[: last + 1] + sep + ", ".join(items) + text[last + 1 :]
    newline = "\r\n" if "\r\n" in text else "\n"
    line_start = text.rfind("\n", 0, last) + 1
    indent = re.match(r"[ \t]*", text[line_start:]).group(0)  # type: ignore[union-attr]
    trailing = text[last] == ","
    line_end = text.find("\n", last)
    line_end = close_at if line_end == -1 or line_end > close_at else line_end
    if text[line_end - 1 : line_end] == "\r":
        line_end -= 1
    added = "".join(
        f"{newline}{indent}{item}{',' if trailing or i < len(items) - 1 else ''}"
        for i, item in enumerate(items)
    )
    if line_end == close_at:  # the last item shares its line with `]`
        added += newline + indent[:-4] if len(indent) >= 4 else newline
    head = text[: last + 1] + ("" if trailing else ",")
    return head + text[last + 1 : line_end] + added + text[line_end:]


def _scan_array(text: str, open_at: int) -> tuple[int, int | None]:
    """(index of the closing bracket, index of the last significant character or None)."""
    depth = 0
    last: int | None = None
    i = open_at
    while i < len(text):
        char = text[i]
        if char in "\"'":
            triple = text[i : i + 3] == char * 3
            end = text.find(char * 3, i + 3) if triple else _string_end(text, i, char)
            if end == -1:
                raise DepsError("pyproject.toml: unterminated string in dependencies")
            i = end + (3 if triple else 1)
            last = i - 1
            continue
        if char == "#":
            newline = text.find("\n", i)
            i = len(text) if newline == -1 else newline
            continue
        if char == "[":
            depth += 1
            if depth > 1:
                last = i
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i, last
            last = i
        elif not char.isspace():
            last = i
        i += 1
    raise DepsError("pyproject.toml: unterminated dependencies list")


def _string_end(text: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i
        if text[i] == "\n":
            return -1
        i += 1
    return -1


def _last_quote(text: str, open_at: int, close_at: int) -> str | None:
    body = text[open_at:close_at]
    quotes = [i for i in (body.rfind('"'), body.rfind("'")) if i >= 0]
    return body[max(quotes)] if quotes else None
