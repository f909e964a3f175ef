"""The pre-commit hooks (.pre-commit-hooks.yaml), run by pre-commit on a temporary repo.

pre-commit installs asyncfix from a local clone of this project (no network beyond the
package index, which pip uses for asyncfix's own dependencies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"
LOCKED = "import time\n\n\nasync def handler(lock):\n    with lock:\n        time.sleep(1)\n"


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_hook_definitions() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["asyncfix"]["entry"] == "asyncfix apply"
    assert hooks["asyncfix-check"]["entry"] == "asyncfix check"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["require_serial"] is True  # one process: cross-file plans see every file


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A local clone-able copy of this project, as pre-commit would fetch it."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to run pre-commit")
    repo = tmp_path_factory.mktemp("hooks")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(
        ROOT / "asyncfix", repo / "asyncfix", ignore=shutil.ignore_patterns("__pycache__")
    )
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "asyncfix")
    return repo, _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    repo, rev = hook_repo
    project = tmp_path / "project"
    project.mkdir()
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo.as_posix()}\n    rev: {rev}\n"
        "    hooks:\n      - id: asyncfix\n      - id: asyncfix-check\n"
    )
    (project / "app.py").write_text(LEGACY)
    (project / "notes.txt").write_text("time.sleep(1) in async def\n")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "app")
    return project


def _pre_commit(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_pre_commit_runs_both_hooks(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    first = _pre_commit(project, home)
    out = first.stdout + first.stderr
    assert first.returncode == 1, out
    assert "asyncfix" in out and "Failed" in out
    assert "files were modified by this hook" in out
    assert (project / "app.py").read_text() == FIXED
    assert (project / "notes.txt").read_text() == "time.sleep(1) in async def\n"

    second = _pre_commit(project, home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("Passed") == 2

    # A site left for manual review stops the commit, in both hooks, with the reason.
    (project / "app.py").write_text(LOCKED)
    third = _pre_commit(project, home)
    assert third.returncode == 1
    assert third.stdout.count("app.py:6:9: AF203") == 2
    assert "manual review: awaiting while a thread lock is held" in third.stdout
    assert (project / "app.py").read_text() == LOCKED
