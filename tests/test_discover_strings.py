"""Discovery, display paths and the layout's module names on strings give what the
pathlib versions gave: the old code is kept here as the oracle, and both run over
generated trees (nested .gitignore files with negations and directory-only patterns,
excludes from inside, outside and at the walked root, links to files, to directories,
in loops, broken and out of the root, names that are not UTF-8 or are odd)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pathspec
import pytest

from asyncfix import files
from asyncfix.files import DEFAULT_EXCLUDES, SourceFile, discover, display_path, traced
from asyncfix.project import Layout, package_name
from asyncfix.report import FileError
from asyncfix.warm import walked

# -- the pathlib versions (asyncfix 2499402), the oracle ---------------------------------


def _old_display_path(path: Path | str) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


class _OldGitIgnores:
    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            spec = None
            lines: list[str] | None = None
            ignore_file = directory / ".gitignore"
            try:
                if ignore_file.is_file():
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except OSError:
                lines, spec = None, None
            if files._trace is not None:
                text = None if lines is None else "\n".join(lines)
                files._trace.append(("gitignore", str(directory), text))
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, top: Path, is_dir: bool) -> bool:
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


class _OldExcludes:
    def __init__(self, patterns: Sequence[str], base: Path | None) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.base = Path(os.path.realpath(base)) if base is not None else None

    def match(self, real: Path, rel: str) -> bool:
        if self.base is not None and (real == self.base or self.base in real.parents):
            rel = real.relative_to(self.base).as_posix() + ("/" if rel.endswith("/") else "")
        return self.spec.match_file(rel)


def _old_walk(
    root: Path,
    real_root: Path,
    top: Path,
    user: _OldExcludes,
    gitignores: _OldGitIgnores,
    errors: list[FileError],
    roots: Sequence[Path],
) -> Iterator[Path]:
    def onerror(exc: OSError) -> None:
        errors.append(
            FileError(_old_display_path(Path(exc.filename)), 1, 1, files._os_message(exc))
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        if files._trace is not None:
            files._trace.append(("walk", dirpath, *walked(dirnames, filenames)))
        here = Path(dirpath)
        real_here = real_root / here.relative_to(root)
        keep = []
        for name in sorted(dirnames):
            rel = (here / name).relative_to(root).as_posix() + "/"
            if (
                name in DEFAULT_EXCLUDES
                or user.match(real_here / name, rel)
                or gitignores.ignored(real_here / name, top, is_dir=True)
            ):
                continue
            if (here / name).is_symlink():
                _old_report_link(here / name, roots, errors)
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = here / name
            rel = path.relative_to(root).as_posix()
            if user.match(real_here / name, rel) or gitignores.ignored(
                real_here / name, top, is_dir=False
            ):
                continue
            if path.is_symlink():
                _old_report_link(path, roots, errors)
                continue
            yield path


def _old_report_link(link: Path, roots: Sequence[Path], errors: list[FileError]) -> None:
    problem = files._symlink_problem(link, roots)
    if problem is not None:
        errors.append(FileError(_old_display_path(link), 1, 1, problem))


def _old_discover(
    paths: Sequence[Path], excludes: Sequence[str], base: Path | None
) -> tuple[list[SourceFile], list[FileError]]:
    user = _OldExcludes(excludes, base)
    gitignores = _OldGitIgnores()
    found: dict[Path, SourceFile] = {}
    errors: list[FileError] = []
    given_ok = [p for p in paths if files._stat_problem(p) is None]
    roots = [Path(os.path.realpath(given)) for given in given_ok]
    for given in given_ok:
        if given.is_file():
            real = Path(os.path.realpath(given))
            found.setdefault(real, SourceFile(real, _old_display_path(given), named=True))
            continue
        root = given.absolute()
        top = files._repo_top(root.resolve())
        for file in _old_walk(root, root.resolve(), top, user, gitignores, errors, roots):
            found.setdefault(file, SourceFile(file, _old_display_path(file)))
    return sorted(found.values(), key=lambda f: f.display), errors


def _old_package_name(path: Path, is_file: Any = Path.is_file) -> str:
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while is_file(directory / "__init__.py"):
        parts.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(parts)) or path.stem


# -- generated trees -----------------------------------------------------------------------

_NAMES = [
    "app", "api", "pkg", "build", ".hidden", "gen", "a b", "x.py", "foo.", ".py", "ümlaut",
    "tests", "node_modules", "__pycache__", "keep", "-dash", "[br]", "*star", "!bang",
]  # fmt: skip
_IGNORE_LINES = [
    "gen/", "*.pyc", "build", "!keep.py", "/app/x.py", "**/tests/", "a b/", "*.py", "!api/",
    "\\!bang", "[b]r*", "foo.", "#comment", "", "keep/", "!*.py", "/gen", "api/*.py",
    "ümlaut/", "x.py/",
]  # fmt: skip
_EXCLUDES = ["gen/", "/app/", "*/tests/*", "x.py", "!x.py", "sub/pkg/", "[br]", "."]


def _make_tree(rng: random.Random, top: Path, outside: Path) -> None:
    dirs = [top]
    for _ in range(rng.randint(3, 12)):
        parent = rng.choice(dirs)
        child = parent / rng.choice(_NAMES)
        child.mkdir(exist_ok=True)
        dirs.append(child)
    for directory in dirs:
        for _ in range(rng.randint(0, 4)):
            name = rng.choice(_NAMES)
            name = name if name.endswith(".py") or rng.random() < 0.3 else name + ".py"
            target = directory / name
            if not target.exists():
                target.write_text("x = 1\n")
        if rng.random() < 0.4:
            lines = rng.sample(_IGNORE_LINES, rng.randint(1, 5))
            (directory / ".gitignore").write_text("\n".join(lines) + "\n")
        if rng.random() < 0.08:
            # (a name that is not UTF-8, as the file system has it)
            with open(os.path.join(os.fsencode(directory), b"bad\xff.py"), "wb") as fh:
                fh.write(b"x = 1\n")
    for _ in range(rng.randint(0, 4)):
        link = rng.choice(dirs) / f"link{rng.randint(0, 99)}.py"
        if link.exists() or link.is_symlink():
            continue
        kind = rng.choice(["file", "dir", "loop", "broken", "outside", "outside-dir"])
        if kind == "file":
            target = rng.choice([p for p in top.rglob("*.py") if not p.is_symlink()] or [top])
            link.symlink_to(target)
        elif kind == "dir":
            link.with_suffix("").symlink_to(rng.choice(dirs), target_is_directory=True)
        elif kind == "loop":
            link.symlink_to(link)
        elif kind == "broken":
            link.symlink_to(top / "missing.py")
        elif kind == "outside":
            link.symlink_to(outside / "out.py")
        else:
            link.with_suffix("").symlink_to(outside, target_is_directory=True)


def _linked_tree(rng: random.Random, tmp_path: Path, project: Path) -> Path:
    """A generated tree in `project`, its links' targets in `tmp_path / "outside"`
    (returned), and `tmp_path / "via"` a link to the project: walked through it, the
    resolved paths differ from the given."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "out.py").write_text("x = 1\n")
    _make_tree(rng, project, outside)
    (tmp_path / "via").symlink_to(project, target_is_directory=True)
    return outside


@pytest.mark.parametrize("seed", range(40))
def test_discover_on_strings_is_discover_on_paths(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    repo = tmp_path / "repo"
    repo.mkdir()
    if rng.random() < 0.5:
        (repo / ".git").mkdir()
    project = repo / "proj" if rng.random() < 0.5 else repo
    project.mkdir(exist_ok=True)
    outside = _linked_tree(rng, tmp_path, project)
    excludes = rng.sample(_EXCLUDES, rng.randint(0, 3))
    subdirs = [p for p in project.rglob("*") if p.is_dir() and not p.is_symlink()]
    base = rng.choice([None, project, repo, tmp_path, outside, *subdirs[:3]])
    cwd = rng.choice([project, repo, tmp_path, outside, Path("/")])
    monkeypatch.chdir(cwd)
    given = rng.choice(
        [[project], [tmp_path / "via"], [Path(os.path.relpath(project))], subdirs[:2] or [project]]
    )
    with traced() as old_trace:
        old = _old_discover(given, excludes, base)
    real: dict[Path, str] = {}
    with traced() as new_trace:
        new = discover(given, excludes, base=base, real_paths=real)
    assert [(f.path, f.display, f.named) for f in new[0]] == [
        (f.path, f.display, f.named) for f in old[0]
    ]
    assert [type(f.path) for f in new[0]] == [type(f.path) for f in old[0]]
    assert new[1] == old[1]
    assert new_trace == old_trace
    walked_files = {f.path for f in new[0] if not f.named}
    assert set(real) == walked_files
    assert all(real[p] == os.path.realpath(p) for p in real)


@pytest.mark.parametrize("cwd", ["/", "/tmp", "/usr/lib", "/usr"])
@pytest.mark.parametrize(
    "path",
    [
        "/", "//", "//usr/lib", "/usr", "/usr/", "/usr/lib/x.py", "/usr/lib2/x.py", "/usrx",
        "usr/../../x.py", "x.py", ".", "..", "/usr/./lib//y.py", "/tmp", "a/b\udcff.py",
        Path("/usr/lib/z.py"), Path("q.py"),
    ],
)  # fmt: skip
def test_display_path_on_strings_is_display_path_on_paths(
    cwd: str, path: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(cwd)
    assert display_path(path) == _old_display_path(path)


@pytest.mark.parametrize("seed", range(20))
def test_layout_names_on_strings_are_names_on_paths(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    found: list[Path] = []
    dirs = [tmp_path]
    for _ in range(rng.randint(2, 10)):
        child = rng.choice(dirs) / rng.choice(["a", "b", "svc", "x.y", "foo.", "ü"])
        dirs.append(child)
    for directory in dirs:
        for name in rng.sample(["__init__.py", "main.py", "x.tar.py", ".py", "m.", "a.b.py"], 3):
            found.append(directory / name)
    found = sorted(set(found))
    known = {str(f) for f in found}
    layout = Layout(tmp_path, found)
    assert layout.dirs == frozenset(str(p) for f in found for p in f.parents)
    for file in found:
        expected = _old_package_name(file, lambda p: str(p) in known)
        assert package_name(file, lambda p: str(p) in known) == expected
        assert layout.python_name(file) == expected
    for odd in [Path("/"), Path("x.py"), Path("a/b/__init__.py"), Path("/x.tar.gz")]:
        assert package_name(odd, lambda p: False) == _old_package_name(odd, lambda p: False)


@pytest.mark.parametrize("seed", range(6))
def test_the_resolved_paths_the_layout_keeps_are_realpath(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncfix import index
    from asyncfix.config import Config
    from asyncfix.driver import _project

    rng = random.Random(seed)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    _linked_tree(rng, tmp_path, project)
    monkeypatch.chdir(tmp_path / "via")
    walked_files, _ = discover([Path(".")])
    named = walked_files[:1]
    every, _, layout = _project([Path(".")] if seed % 2 else [named[0].path], named, Config())
    assert every
    for file in every:
        assert layout.real_paths.get(file.path, os.path.realpath(file.path)) == os.path.realpath(
            file.path
        )
    try:
        index.use_layout(layout)
        names = [index.module_name(f.path) for f in every]
        index.use_layout(Layout(layout.root, layout.files, real_paths={}))
        assert [index.module_name(f.path) for f in every] == names
    finally:
        index.use_layout(None)
