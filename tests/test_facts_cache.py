"""The project index kept in the result cache: each module's facts by its bytes, its paths
and the project's layout (see ResultCache.facts_key and workers.cached_index)."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import pytest

import asyncfix.driver
import asyncfix.index
import asyncfix.workers
from asyncfix.cache import ResultCache, layout_digest
from asyncfix.config import Config, find_pyproject, load_config
from asyncfix.driver import RunResult, run
from asyncfix.files import SourceFile
from asyncfix.index import index_module, use_layout
from asyncfix.project import Layout
from asyncfix.workers import cached_facts, facts_blob

NEVER_AWAITS = "async def helper():\n    return 1\n"
AWAITS = "import asyncio\n\n\nasync def helper():\n    await asyncio.sleep(0)\n    return 1\n"
CALLER = "from pkg.a import helper\n\n\nasync def handler():\n    return await helper()\n"
CALLER_FIXED = "from pkg.a import helper\n\n\nasync def handler():\n    return helper()\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # A closed world: the async_def plan turns a never-awaiting helper into a plain def
    # and changes its callers in the other modules.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYNCFIX_CACHE_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.asyncfix.async_def]\nclosed-world = true\n'
    )
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(NEVER_AWAITS)
    (pkg / "b.py").write_text(CALLER)
    return tmp_path


def config_of(project: Path) -> Config:
    return load_config(find_pyproject(project))


def cached_run(project: Path, jobs: int = 1) -> RunResult:
    config = config_of(project)
    return run([project / "pkg"], config, jobs=jobs, cache=ResultCache.for_run(config))


def new_text(result: RunResult, display: str) -> str | None:
    [outcome] = [o for o in result.outcomes if o.file.display == display]
    return None if outcome.new is None else outcome.new.decode()


def facts_entries(project: Path) -> set[Path]:
    return set((project / ".asyncfix_cache").rglob("*.facts"))


def from_cache(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The display paths of the facts each run took from the cache."""
    seen: list[set[str]] = []
    lookup = asyncfix.workers.cached_index

    def spy(*args: Any) -> Any:
        found = lookup(*args)
        seen.append(set(found[0]))
        return found

    monkeypatch.setattr(asyncfix.driver, "cached_index", spy)
    return seen


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_edited_imported_module_changes_the_plan_of_its_unchanged_importer(
    project: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    cold = cached_run(project, jobs)
    assert new_text(cold, "pkg/b.py") == CALLER_FIXED
    stored = facts_entries(project)
    assert len(stored) >= 2  # the modules the plans indexed: a.py and b.py at least

    (project / "pkg" / "a.py").write_text(AWAITS)  # helper now awaits: b.py stays
    seen = from_cache(monkeypatch)
    warm = cached_run(project, jobs)
    assert new_text(warm, "pkg/b.py") is None and new_text(warm, "pkg/a.py") is None
    # The unchanged modules' facts came from the cache, the edited one's did not...
    assert len(seen) == 1 and "pkg/b.py" in seen[0] and "pkg/a.py" not in seen[0]
    # ...and was stored under its new bytes beside the old entry.
    assert len(facts_entries(project)) == len(stored) + 1 and stored < facts_entries(project)

    (project / "pkg" / "a.py").write_text(NEVER_AWAITS + "# again\n")  # never awaits again
    seen.clear()
    assert new_text(cached_run(project, jobs), "pkg/b.py") == CALLER_FIXED
    assert len(seen) == 1 and "pkg/b.py" in seen[0] and "pkg/a.py" not in seen[0]


def test_runs_with_the_facts_cached_give_what_a_run_without_the_cache_gives(
    project: Path,
) -> None:
    def outcomes(result: RunResult) -> list[tuple[str, bytes | None, object]]:
        return [(o.file.display, o.new, o.findings) for o in result.outcomes]

    config = config_of(project)
    for text in (NEVER_AWAITS, AWAITS, NEVER_AWAITS):
        (project / "pkg" / "a.py").write_text(text)
        uncached = run([project / "pkg"], config, jobs=1)
        assert outcomes(cached_run(project)) == outcomes(uncached)
        # b.py alone, as a pre-commit hook names it: the whole project is still planned
        (project / "pkg" / "b.py").write_text(CALLER + f"# {text[:5]}\n")
        alone = run([project / "pkg" / "b.py"], config, jobs=1)
        again = run([project / "pkg" / "b.py"], config, jobs=1, cache=ResultCache.for_run(config))
        assert outcomes(again) == outcomes(alone)
        (project / "pkg" / "b.py").write_text(CALLER)


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "checksum", "foreign class", "not facts", "another file"],
)
def test_a_corrupt_or_crafted_facts_entry_is_a_miss(
    project: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    cold = cached_run(project)
    marker = project / "ran"
    other = index_module(SourceFile(project / "other.py", "other.py"), NEVER_AWAITS.encode())
    assert other is not None
    crafted = {
        # Found only by name, never called: a crafted entry must not run anything.
        "foreign class": b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.",
        "not facts": pickle.dumps(({"path": "pkg/b.py"}, None)),
        "another file": facts_blob(other),  # another file's facts under these keys
    }
    for entry in facts_entries(project):
        blob = entry.read_bytes()
        magic, key, _, body = blob.split(b"\n", 3)
        if damage == "garbage":
            entry.write_bytes(b"\x00\xff not an entry")
        elif damage == "truncated":
            entry.write_bytes(blob[: len(blob) // 2])
        elif damage == "checksum":
            entry.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
        else:
            body = crafted[damage]
            checksum = hashlib.sha256(body).hexdigest().encode()
            entry.write_bytes(b"\n".join([magic, key, checksum, body]))
    for entry in (project / ".asyncfix_cache").rglob("*.run"):
        entry.unlink()  # (else the run over the same bytes is served whole, unplanned)
    seen = from_cache(monkeypatch)
    again = cached_run(project)
    assert not marker.exists()
    assert [(o.file.display, o.new) for o in again.outcomes] == [
        (o.file.display, o.new) for o in cold.outcomes
    ]
    assert seen == [set()]  # every module indexed again


def test_the_layout_digest_covers_every_file_and_the_import_roots(tmp_path: Path) -> None:
    files = [tmp_path / "pkg" / "a.py", tmp_path / "pkg" / "b.py"]
    base = layout_digest(Layout(tmp_path, files))
    assert layout_digest(Layout(tmp_path, files)) == base
    assert layout_digest(Layout(tmp_path, files[:1])) != base  # (an import may resolve anew)
    assert layout_digest(Layout(tmp_path, files, [tmp_path / "pkg"])) != base
    assert layout_digest(Layout(tmp_path / "pkg", files)) != base
    assert layout_digest(None) != base


def test_a_module_added_to_the_project_indexes_every_module_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_run(project)
    (project / "pkg" / "c.py").write_text("x = 1\n")
    seen = from_cache(monkeypatch)
    cached_run(project)
    assert seen == [set()]


def test_cached_facts_are_the_facts_of_this_run_s_file(project: Path) -> None:
    path = project / "pkg" / "b.py"
    data = path.read_bytes()
    try:
        use_layout(Layout(project, [path.resolve()]))
        info = index_module(SourceFile(path, "pkg/b.py"), data)
    finally:
        use_layout(None)
    assert info is not None
    here = SourceFile(path, "pkg/b.py", named=True)
    found = cached_facts(facts_blob(info), here, data)
    assert found is not None
    assert found.file is here and found.data == data  # (the plans read beside `file`)
    assert (found.name, found.imports, found.functions) == (info.name, info.imports, info.functions)
    assert cached_facts(facts_blob(info), SourceFile(path, "elsewhere/b.py"), data) is None


def test_the_facts_key_covers_bytes_paths_layout_and_salt(project: Path) -> None:
    cache = ResultCache.for_run(Config())
    file = SourceFile(project / "pkg" / "b.py", "pkg/b.py")
    key = cache.facts_key(file, b"x = 1\n", "layout")
    assert cache.facts_key(file, b"x = 1\n", "layout") == key
    assert cache.facts_key(file, b"x = 2\n", "layout") != key
    assert cache.facts_key(file, b"x = 1\n", "other layout") != key
    assert cache.facts_key(SourceFile(file.path, "b.py"), b"x = 1\n", "layout") != key
    assert cache.facts_key(SourceFile(project / "b.py", "pkg/b.py"), b"x = 1\n", "layout") != key
    assert ResultCache(cache.directory, "another salt").facts_key(file, b"x = 1\n", "layout") != key
    cache.put_facts(key, b"facts")
    assert cache.get_facts(key) == b"facts"
    assert cache.get_facts(cache.facts_key(file, b"x = 2\n", "layout")) is None


def test_a_run_without_codemods_takes_its_plans_facts_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pre-commit hook's one file with nothing to find, in a project whose db-session
    # plan names another file: the plan is made (asyncfix/quiet.py) on the facts the
    # earlier run kept, not on modules indexed again, and says the same.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYNCFIX_CACHE_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    maker = "from sqlalchemy.orm import sessionmaker\n\nLocal = sessionmaker()\n"
    (app / "db.py").write_text(maker)
    (app / "users.py").write_text("from app.db import Local\n\n\ndef get():\n    return Local()\n")
    (app / "util.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    config = config_of(tmp_path)
    run([app], config, jobs=1, cache=ResultCache.for_run(config))  # (keeps the facts)

    indexed: list[str] = []
    index_of = asyncfix.index.index_module

    def spy(file: SourceFile, data: bytes) -> Any:
        indexed.append(file.display)
        return index_of(file, data)

    quiet: list[bool] = []
    codemod_free = asyncfix.driver._codemod_free

    def spy_quiet(*args: Any) -> bool:
        quiet.append(codemod_free(*args))
        return quiet[-1]

    monkeypatch.setattr(asyncfix.index, "index_module", spy)
    monkeypatch.setattr(asyncfix.driver, "_codemod_free", spy_quiet)
    for edit in ("# one\n", "# two\n"):
        with (app / "util.py").open("a") as fh:
            fh.write(edit)
        cached = run([app / "util.py"], config, jobs=1, cache=ResultCache.for_run(config))
        assert quiet == [True] and indexed == []  # (the plan read db.py and users.py)
        quiet.clear()
        uncached = run([app / "util.py"], config, jobs=1)
        assert quiet == [True] and {"app/db.py", "app/users.py"} <= set(indexed)
        assert [(o.file.display, o.new, o.findings, o.errors) for o in cached.outcomes] == [
            (o.file.display, o.new, o.findings, o.errors) for o in uncached.outcomes
        ]
        quiet.clear()
        indexed.clear()
