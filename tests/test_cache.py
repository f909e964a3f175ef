"""The result cache (.asyncfix_cache/) and --shard K/N."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import asyncfix.pipeline
from asyncfix.cache import CachedResult, ResultCache, Unkeyable, plan_form
from asyncfix.cli import main
from asyncfix.config import Config
from asyncfix.driver import Pipeline, RunResult, run
from asyncfix.files import SourceFile
from asyncfix.report import Finding
from asyncfix.shard import in_shard, parse_shard

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    return 1\n"
LOCKED = (
    "import threading, time\n\nLOCK = threading.Lock()\n\n\n"
    "async def handler():\n    with LOCK:\n        time.sleep(1)\n"
)


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYNCFIX_CACHE_DIR", raising=False)
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(LEGACY)
    (src / "locked.py").write_text(LOCKED)
    (src / "plain.py").write_text("x = 1\n")
    return tmp_path


def cache_for(project: Path, config: Config | None = None) -> ResultCache:
    config = config or Config()
    pipeline = Pipeline(config)
    return ResultCache.for_run(
        config, [c.NAME for c in pipeline.codemods], pipeline.enabled, project / "cache"
    )


def entries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and len(p.name) == 64]


def results(result: RunResult) -> list[tuple[str, bytes | None, list[Finding]]]:
    return [(o.file.display, o.new, o.findings) for o in result.outcomes]


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(data: bytes) -> None:
        raise AssertionError("parsed although the cache holds the result")

    monkeypatch.setattr(asyncfix.pipeline, "guard_depth", fail)
    monkeypatch.setattr(asyncfix.pipeline, "cst_parse", fail)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_warm_run_parses_nothing_and_gives_the_same_results(
    project: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    cold = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert len(entries(project / "cache")) == 2  # app.py and locked.py; plain.py never parsed
    assert cold.outcomes[0].new == FIXED.encode() and not cold.outcomes[0].cached
    no_parsing(monkeypatch)
    warm = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert results(warm) == results(cold)
    assert [o.cached for o in warm.outcomes] == [True, True, False]
    assert warm.summary.by_code == cold.summary.by_code
    assert warm.summary.changed == cold.summary.changed == 1


def test_an_edited_file_is_processed_again(project: Path) -> None:
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    (project / "src" / "app.py").write_text(LEGACY.replace("sleep(1)", "sleep(2)"))
    again = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    app = again.outcomes[0]
    assert not app.cached
    assert app.new == FIXED.replace("sleep(1)", "sleep(2)").encode()


@pytest.mark.parametrize(
    "config",
    [Config(ignore=("AF203",)), Config(select=("http_client",)), Config(fastapi_version="0.100")],
)
def test_another_configuration_is_another_key(project: Path, config: Config) -> None:
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    other = run([Path("src")], config, jobs=1, cache=cache_for(project, config))
    assert not any(o.cached for o in other.outcomes)
    if config.ignore:
        assert other.outcomes[0].new is None and not other.outcomes[0].findings


def test_the_key_covers_asyncfix_itself_and_the_codemods(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config()
    base = ResultCache.for_run(config, ["time-sleep"], frozenset({"AF203"}), project)
    assert base.salt == ResultCache.for_run(config, ["time-sleep"], frozenset({"AF203"})).salt
    assert base.salt != ResultCache.for_run(config, ["a", "time-sleep"], frozenset({"AF203"})).salt
    assert base.salt != ResultCache.for_run(config, ["time-sleep"], frozenset({"AF2"})).salt
    # An edited codemod (same version number) changes the salt.
    monkeypatch.setattr("asyncfix.cache._package_digest", lambda: "edited")
    assert base.salt != ResultCache.for_run(config, ["time-sleep"], frozenset({"AF203"})).salt
    edited = ResultCache.for_run(config, ["time-sleep"], frozenset({"AF203"})).salt
    monkeypatch.setattr("asyncfix.cache.__version__", "99.0")
    assert edited != ResultCache.for_run(config, ["time-sleep"], frozenset({"AF203"})).salt


@pytest.mark.parametrize("name", ["pyproject.toml", "requirements.txt", "uv.lock", "__init__.py"])
def test_project_files_beside_the_code_are_part_of_the_key(project: Path, name: str) -> None:
    # A codemod may read the project's dependencies (FastAPI version, HTTP library) or
    # derive module names from the package layout.
    cache = cache_for(project)
    path = project / "src" / "app.py"
    before = cache.key(path.read_bytes(), "src/app.py", path)
    (project / name).write_text("fastapi==0.100\n")
    assert cache_for(project).key(path.read_bytes(), "src/app.py", path) != before
    assert cache.key(path.read_bytes(), "src/other.py", path) != before


def test_a_corrupt_or_truncated_entry_is_a_miss(project: Path) -> None:
    cache = cache_for(project)
    cold = run([Path("src")], Config(), jobs=1, cache=cache)
    for i, entry in enumerate(sorted(entries(project / "cache"))):
        blob = entry.read_bytes()
        # Truncated in the body (checksum), garbage header.
        entry.write_bytes(blob[:-3] if i == 0 else b"asyncfix-cache-1\n{not json\n")
    again = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert results(again) == results(cold)
    assert not any(o.cached for o in again.outcomes)
    # Rewritten: the next run hits again.
    third = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert [o.cached for o in third.outcomes] == [True, True, False]


def test_a_flipped_byte_in_a_stored_rewrite_is_never_served(project: Path) -> None:
    cache = cache_for(project)
    path = project / "src" / "app.py"
    key = cache.key(path.read_bytes(), "src/app.py", path)
    assert key is not None
    cache.put(key, CachedResult("utf-8", [], b"print('good')\n"))
    entry = entries(project / "cache")[0]
    entry.write_bytes(entry.read_bytes().replace(b"good", b"evil"))
    assert cache.get(key, "src/app.py") is None


def test_writes_are_atomic_and_leave_no_temporary_files(project: Path) -> None:
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    names = sorted(p.name for p in (project / "cache").rglob("*") if p.is_file())
    assert ".gitignore" in names and "CACHEDIR.TAG" in names
    assert not [n for n in names if n.startswith(".tmp-")]


def test_an_empty_cachedir_tag_is_written_again_whole(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 20, item 9: a full disk left CACHEDIR.TAG empty. It is written through a
    # temporary file now (whole or not at all), and an empty one is repaired.
    real_replace = os.replace

    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert not (project / "cache" / "CACHEDIR.TAG").exists()
    assert not [p for p in (project / "cache").rglob(".tmp-*")]
    monkeypatch.setattr(os, "replace", real_replace)
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    tag = project / "cache" / "CACHEDIR.TAG"
    assert tag.read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")
    tag.write_bytes(b"")  # as an older asyncfix left it
    (project / "src" / "app.py").write_text(LEGACY + "\n")  # (a new entry to write)
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert tag.read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")


def test_an_interrupted_run_removes_the_cache_temporaries_of_its_killed_workers(
    project: Path,
) -> None:
    # A worker killed on a signal may have been writing an entry: its temporary stays.
    for i in range(8):  # enough files for the worker pool
        (project / "src" / f"m{i}.py").write_text(LEGACY.replace("handler", f"h{i}"))
    cache = cache_for(project)
    run([Path("src")], Config(), jobs=1, cache=cache)  # makes the cache's directories
    planted = sorted(p.parent for p in entries(project / "cache"))[0] / ".tmp-cut-short"
    planted.write_bytes(b"half an entry")
    (project / "src" / "m0.py").write_text(LEGACY + "\n")  # (not served whole this time)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run([Path("src")], Config(), jobs=2, cache=cache_for(project), progress=interrupt)
    assert not planted.exists()
    assert entries(project / "cache")  # the entries themselves stay


def test_parsed_counts_only_the_files_parsed_in_this_run(project: Path) -> None:
    first = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert first.summary.parsed >= 1
    again = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert all(o.cached for o in again.outcomes if o.parsed)
    assert again.summary.parsed == 0
    assert " 0 parsed," in again.summary.format(wrote=False)


def test_an_unwritable_cache_directory_is_ignored(project: Path) -> None:
    (project / "cache").write_text("a file where the directory should be")
    result = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert result.outcomes[0].new == FIXED.encode() and not result.errors


def test_errors_are_not_cached(project: Path) -> None:
    (project / "src" / "broken.py").write_text("import time\nasync def f(:\n    time.sleep(1)\n")
    run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    again = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    broken = next(o for o in again.outcomes if o.file.display == "src/broken.py")
    assert broken.errors and not broken.cached


def test_a_planned_file_is_keyed_by_its_plan(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its result depends on other files through the plan: another plan, another key.
    cache = cache_for(project)
    pipeline = Pipeline(Config(), cache=cache)
    file = SourceFile(project / "src" / "app.py", "src/app.py")
    first = pipeline.process(file, plans={"time-sleep": {"callers": ["a.py", "b.py"]}})
    assert first.parsed and not first.cached
    assert pipeline.process(file, plans={"time-sleep": {"callers": ["a.py", "b.py"]}}).cached
    assert not pipeline.process(file, plans={"time-sleep": {"callers": ["a.py"]}}).cached
    assert not pipeline.process(file, plans={"time-sleep": {"callers": ("a.py", "b.py")}}).cached
    assert not pipeline.process(file).cached  # no plan at all is yet another key
    assert len(entries(project / "cache")) == 4


def test_a_plan_without_a_canonical_form_bypasses_the_cache(project: Path) -> None:
    cache = cache_for(project)
    pipeline = Pipeline(Config(), cache=cache)
    file = SourceFile(project / "src" / "app.py", "src/app.py")
    for _ in range(2):
        outcome = pipeline.process(file, plans={"time-sleep": {"node": object()}})
        assert outcome.parsed and not outcome.cached
    assert entries(project / "cache") == []


@dataclass(frozen=True)
class _Fact:
    name: str
    lines: tuple[int, ...]


def test_plan_form_is_canonical_and_tells_types_apart() -> None:
    assert plan_form({"b": {3, 1, 2}, "a": 1}) == plan_form({"a": 1, "b": {2, 3, 1}})
    different = [1, True, "1", 1.0, [1], (1,), {1}, frozenset({1}), None, b"1", {"1": 1}]
    assert len({json.dumps(plan_form(v)) for v in different}) == len(different)
    assert plan_form(_Fact("f", (1, 2))) != plan_form(_Fact("f", (1, 3)))
    for bad in (object(), lambda: 1, {"x": [object()]}):
        with pytest.raises(Unkeyable):
            plan_form(bad)


def test_cli_caches_by_default_and_no_cache_bypasses(project: Path) -> None:
    assert invoke("check", "--no-cache", "src").exit_code == 1
    assert not (project / ".asyncfix_cache").exists()
    first = invoke("check", "src")
    assert len(entries(project / ".asyncfix_cache")) == 2
    second = invoke("check", "src")
    assert first.stdout == second.stdout and first.exit_code == second.exit_code == 1


def test_cache_dir_from_the_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCFIX_CACHE_DIR", str(project / "elsewhere"))
    invoke("check", "src")
    assert not (project / ".asyncfix_cache").exists()
    assert len(entries(project / "elsewhere")) == 2


# -- --shard K/N ---------------------------------------------------------------------------


def test_parse_shard() -> None:
    assert parse_shard("2/8") == (2, 8)
    for bad in ("0/2", "3/2", "2", "a/b", "1/0", "-1/2"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_every_file_is_in_exactly_one_shard_and_shards_are_balanced() -> None:
    paths = [f"pkg{i % 7}/module_{i}.py" for i in range(2000)]
    for n in (1, 2, 3, 8):
        sizes = [sum(in_shard(p, k, n) for p in paths) for k in range(1, n + 1)]
        assert all(sum(in_shard(p, k, n) for k in range(1, n + 1)) == 1 for p in paths)
        assert min(sizes) > len(paths) / n * 0.8


def test_shard_membership_is_stable_across_processes() -> None:
    # Not Python's randomized hash(): another interpreter agrees.
    code = "from asyncfix.shard import in_shard; print(in_shard('src/app.py', 1, 3))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(3)
    }
    assert outputs == {f"{in_shard('src/app.py', 1, 3)}\n"}


def test_the_patches_of_all_shards_combine_into_the_full_run(project: Path) -> None:
    for i in range(12):
        (project / "src" / f"m{i}.py").write_text(LEGACY.replace("sleep(1)", f"sleep({i})"))
    full = invoke("apply", "--dry-run", "--no-cache", "--patch-dir", "full", "src")
    assert full.exit_code == 1
    seen: list[str] = []
    for k in (1, 2, 3):
        part = invoke(
            "apply", "--dry-run", "--no-cache", "--shard", f"{k}/3", "--patch-dir", "shards", "src"
        )
        assert part.exit_code in (0, 1)
        seen += [line for line in part.stdout.splitlines() if line.startswith("+++ ")]
    full_patches = {p.name: p.read_bytes() for p in (project / "full").iterdir()}
    shard_patches = {p.name: p.read_bytes() for p in (project / "shards").iterdir()}
    assert shard_patches == full_patches and len(full_patches) == 13
    assert sorted(seen) == sorted(
        line for line in full.stdout.splitlines() if line.startswith("+++ ")
    )
    assert len(seen) == len(set(seen))  # no file in two shards


def test_a_rerun_over_the_same_bytes_never_imports_libcst(project: Path) -> None:
    # The warm path of a linter: served whole from the run's entry, without even importing
    # the codemods (libcst alone costs ~0.4 s to import).
    script = (
        "import sys\n"
        "from asyncfix.cli import main\n"
        "try:\n"
        "    main(['check', '--exit-zero', 'src'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst imported' if 'libcst' in sys.modules else 'libcst not imported')\n"
    )

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script], cwd=project, capture_output=True, text=True
        )

    cold, warm = check(), check()
    assert "libcst imported" in cold.stdout
    assert "libcst not imported" in warm.stdout, warm.stderr
    # The same report, but for the time it took and the files parsed (none, this time).
    assert " 2 parsed, " in cold.stderr and " 0 parsed, " in warm.stderr
    assert warm.stderr.replace(warm.stderr.split()[-1], "").replace(
        " 0 parsed, ", ""
    ) == cold.stderr.replace(cold.stderr.split()[-1], "").replace(" 2 parsed, ", "")
    (project / "src" / "plain.py").write_text("x = 2\n")  # any file: plans read them all
    assert "libcst imported" in check().stdout


def test_a_rerun_replays_errors_and_outcomes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "src" / "broken.py").write_text("import time\nasync def f(:\n    time.sleep(1)\n")
    cold = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    no_parsing(monkeypatch)
    warm = run([Path("src")], Config(), jobs=1, cache=cache_for(project))
    assert results(warm) == results(cold)
    assert [e.format() for e in warm.errors] == [e.format() for e in cold.errors]
    assert warm.errors and warm.summary.changed == cold.summary.changed == 1


LOCKS = {
    "plain": b'[[package]]\nname = "FastAPI"\nversion = "0.88.0"\n\n[[package]]\nname = "a_b"\n'
    b'version = "1"\n',
    "crlf": b'[[package]]\r\nname = "fastapi"\r\nversion = "0.115.0"\r\n',
    "lone cr": b'[[package]]\rname = "fastapi"\rversion = "0.115.0"\r',
    "not toml": b"[[package]\nname = \n",
    "not utf-8": b'[[package]]\nname = "caf\xe9"\nversion = "1"\n',
    "no packages": b"version = 1\n[[package]]\nname = 3\n",
}


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_a_lock_file_s_packages_are_kept_by_its_bytes(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncfix import project as facts

    lock = tmp_path / "uv.lock"
    lock.write_bytes(LOCKS[name])
    stamp = (1, 2, 3, 4)
    facts.use_lock_memo(None)
    facts._locked_packages.cache_clear()
    parsed = facts._locked_packages(lock, stamp)
    assert bool(parsed) == (name not in ("not toml", "not utf-8"))
    memo = ResultCache(tmp_path / "cache", "salt")
    try:
        facts.use_lock_memo(memo)
        facts._locked_packages.cache_clear()
        assert facts._locked_packages(lock, stamp) == parsed  # parsed, and stored
        facts._locked_packages.cache_clear()  # (the process's own answer forgotten)
        monkeypatch.setattr(facts, "_toml_of", lambda data: pytest.fail("parsed again"))
        assert facts._locked_packages(lock, stamp) == parsed
        # Other bytes are another entry; a damaged entry is a miss.
        assert memo.get_locked(LOCKS[name] + b"\n") is None
        for entry in (tmp_path / "cache").rglob("*.locked"):
            entry.write_bytes(entry.read_bytes()[:-3])
        assert memo.get_locked(LOCKS[name]) is None
    finally:
        facts.use_lock_memo(None)


def test_the_salt_reads_libcst_s_version_as_its_metadata_gives_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (off its .dist-info directory's name in site-packages; importlib.metadata otherwise)
    from importlib.metadata import version

    import asyncfix.cache as cache_module
    import asyncfix.warm

    cache_module._libcst_version.cache_clear()
    assert cache_module._libcst_version() == version("libcst")
    cache_module._libcst_version.cache_clear()
    monkeypatch.setattr(asyncfix.warm, "distributions", lambda: [])  # (installed elsewhere)
    assert cache_module._libcst_version() == version("libcst")
    cache_module._libcst_version.cache_clear()
