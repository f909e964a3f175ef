"""The command line, through click's runner and through a real subprocess."""

from __future__ import annotations

import json
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncfix.cli import main

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    return 1\n"
CLEAN = "import asyncio\n\n\nasync def ok():\n    await asyncio.sleep(1)\n"


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(LEGACY)
    (tmp_path / "src" / "clean.py").write_text(CLEAN)
    return tmp_path


def test_apply_rewrites_then_is_a_no_op(project: Path) -> None:
    result = invoke("apply", "src")
    assert result.exit_code == 0, result.output + result.stderr
    assert (project / "src" / "app.py").read_text() == FIXED
    assert "1 changed" in result.stderr
    again = invoke("apply", "src")
    assert again.exit_code == 0
    assert "0 changed" in again.stderr
    assert (project / "src" / "app.py").read_text() == FIXED


def test_dry_run_prints_diff_writes_nothing_and_exits_1(project: Path) -> None:
    result = invoke("apply", "--dry-run", "src")
    assert result.exit_code == 1
    assert "--- a/src/app.py\n+++ b/src/app.py\n" in result.output
    assert "+    await asyncio.sleep(1)\n" in result.output
    assert (project / "src" / "app.py").read_text() == LEGACY
    assert "1 would change" in result.stderr


def test_dry_run_on_clean_code_exits_0(project: Path) -> None:
    result = invoke("apply", "--dry-run", "src/clean.py")
    assert result.exit_code == 0
    assert result.output == ""


def test_check_json(project: Path) -> None:
    result = invoke("check", "--output-format", "json", "src")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["findings"] == [
        {
            "path": "src/app.py",
            "line": 5,
            "column": 5,
            "code": "AF203",
            "family": "http_client",
            "message": "time.sleep() blocks the event loop inside async def; "
            "use await asyncio.sleep()",
            "fixable": True,
            "reason": "",
        }
    ]
    assert doc["summary"]["files_scanned"] == 2
    assert (project / "src" / "app.py").read_text() == LEGACY


def test_check_text_and_clean_exit(project: Path) -> None:
    result = invoke("check", "src")
    assert result.exit_code == 1
    assert result.output.startswith("src/app.py:5:5: AF203 ")
    assert invoke("check", "src/clean.py").exit_code == 0


def test_bad_input_is_reported_and_the_rest_still_runs(project: Path) -> None:
    # Each holds the trigger tokens (async, sleep): files that cannot match are not parsed.
    broken = b"async def f(:\n    time.sleep(1)\n"
    undecodable = b"x = 1\ny = '\xff\xfe'\n"
    nul = b"x = 1\0\n"
    (project / "src" / "broken.py").write_bytes(broken)
    (project / "src" / "latin.py").write_bytes(b"async def f():\n    sleep\n" + undecodable)
    (project / "src" / "nul.py").write_bytes(b"async def f():\n    sleep\n" + nul)
    result = invoke("apply", "src", "missing_dir")
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert "missing_dir:1:1: error: no such file or directory" in errors
    assert any(e.startswith("src/broken.py:1:13: error: syntax error") for e in errors), errors
    assert "src/latin.py:4:6: error: not valid utf-8: invalid start byte" in errors
    assert "src/nul.py:3:6: error: source contains a NUL byte" in errors
    # Everything else was still processed, and bad files are untouched.
    assert (project / "src" / "app.py").read_text() == FIXED
    assert (project / "src" / "broken.py").read_bytes() == broken
    assert (project / "src" / "latin.py").read_bytes().endswith(undecodable)


def test_read_only_file_is_left_alone(project: Path) -> None:
    app = project / "src" / "app.py"
    app.chmod(0o444)
    try:
        result = invoke("apply", "src")
    finally:
        app.chmod(0o644)
    assert result.exit_code == 2
    assert "src/app.py:1:1: error: cannot write: permission denied" in result.stderr
    assert app.read_text() == LEGACY


def test_write_keeps_file_mode(project: Path) -> None:
    app = project / "src" / "app.py"
    app.chmod(0o750)
    assert invoke("apply", "src").exit_code == 0
    assert stat.S_IMODE(app.stat().st_mode) == 0o750
    assert not list((project / "src").glob(".*asyncfix"))  # no temporary files left


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_patch_dir_patches_apply_with_git(project: Path) -> None:
    crlf = project / "src" / "crlf.py"
    crlf.write_bytes(LEGACY.replace("\n", "\r\n").encode())
    nonl = project / "src" / "nonl.py"
    nonl.write_text(LEGACY.rstrip("\n"))
    result = invoke("apply", "--dry-run", "--patch-dir", "patches", "src")
    assert result.exit_code == 1
    patches = sorted((project / "patches").iterdir())
    assert [p.name for p in patches] == [
        "src__app.py.patch",
        "src__crlf.py.patch",
        "src__nonl.py.patch",
    ]
    subprocess.run(["git", "init", "-q"], check=True)
    for patch in patches:
        subprocess.run(["git", "apply", str(patch)], check=True)
    assert (project / "src" / "app.py").read_text() == FIXED
    assert crlf.read_bytes() == FIXED.replace("\n", "\r\n").encode()
    assert nonl.read_text() == FIXED.rstrip("\n")


def test_output_is_identical_whatever_the_job_count(project: Path) -> None:
    for i in range(12):
        (project / "src" / f"mod{i:02}.py").write_text(LEGACY)
    (project / "src" / "zz_broken.py").write_text("async def (:\n time.sleep\n")
    one = invoke("check", "--jobs", "1", "--output-format", "json", "src")
    two = invoke("check", "--jobs", "2", "--output-format", "json", "src")
    assert one.exit_code == two.exit_code == 2
    strip = [json.loads(r.output) for r in (one, two)]
    assert strip[0]["findings"] == strip[1]["findings"]
    assert strip[0]["errors"] == strip[1]["errors"]
    assert len(strip[0]["findings"]) == 13


def test_gitignore_and_default_excludes(project: Path) -> None:
    (project / ".gitignore").write_text("generated/\n*_pb2.py\n")
    for rel in ("generated/a.py", "src/x_pb2.py", ".venv/lib/b.py", "node_modules/c.py"):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(LEGACY)
    (project / "src" / "skipme.py").write_text(LEGACY)
    result = invoke("check", "--output-format", "json", "--exclude", "skip*.py", ".")
    paths = {f["path"] for f in json.loads(result.output)["findings"]}
    assert paths == {"src/app.py"}
    # A file named explicitly is taken even when ignored.
    explicit = invoke("check", "--output-format", "json", "generated/a.py")
    assert {f["path"] for f in json.loads(explicit.output)["findings"]} == {"generated/a.py"}


def test_config_and_selection(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF203"]\n')
    assert invoke("check", "src").exit_code == 0
    assert invoke("check", "--select", "http_client", "src").exit_code == 0  # ignore still wins
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nselect = ["AF2"]\n')
    assert invoke("check", "src").exit_code == 1


def test_bad_config_and_selectors_are_usage_errors(project: Path) -> None:
    result = invoke("check", "--select", "AF999", "src")
    assert result.exit_code == 2
    assert "unknown rule selector 'AF999'" in result.stderr
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nselekt = ["AF2"]\n')
    result = invoke("check", "src")
    assert result.exit_code == 2
    assert "unknown key 'selekt'" in result.stderr
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nselect = "AF2\n')
    assert invoke("check", "src").exit_code == 2


def test_list_and_explain() -> None:
    listed = invoke("list")
    assert listed.exit_code == 0
    assert "http_client/time-sleep" in listed.output
    assert "AF203" in listed.output
    explained = invoke("explain", "AF203")
    assert explained.exit_code == 0
    assert "await asyncio.sleep(0.5)" in explained.output
    assert invoke("explain", "AF000").exit_code == 2


def test_python_dash_m_and_console_script(project: Path) -> None:
    module = subprocess.run(
        [sys.executable, "-m", "asyncfix", "apply", "--dry-run", "src"],
        capture_output=True,
        text=True,
    )
    assert module.returncode == 1
    assert "+    await asyncio.sleep(1)" in module.stdout
    script = Path(sys.executable).with_name("asyncfix")
    if script.exists():
        proc = subprocess.run([str(script), "check", "src/clean.py"], capture_output=True)
        assert proc.returncode == 0


def _restore_sigint() -> None:
    # A child inherits an ignored SIGINT (as under CI runners); Python then keeps ignoring it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_parallel_run_writes_nothing(project: Path, signum: int) -> None:
    for i in range(100):
        (project / "src" / f"m{i:03}.py").write_text(LEGACY * 20)
    proc = subprocess.Popen(
        [sys.executable, "-m", "asyncfix", "apply", "--jobs", "2", "src"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_restore_sigint,
    )
    # Interrupt only once the worker pool runs (the CLI's handlers are installed by then,
    # however slowly a loaded machine imports): its children are listed in /proc.
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if children.exists() and len(children.read_text().split()) >= 2:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail("the run finished before it could be interrupted; give it more work")
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=10)  # prompt: workers are stopped, not awaited
    assert proc.returncode == 2
    assert b"interrupted; no file was written" in stderr
    assert all(p.read_text() == LEGACY * 20 for p in (project / "src").glob("m*.py"))
    assert not list((project / "src").glob(".*asyncfix"))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_many_changed_files_are_formatted_each_as_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    # From four changed files on, black runs in forked processes: each file must still
    # get its own formatted text, in its place (the rewritten lines: the rest stays).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (tmp_path / "src").mkdir()
    for i in range(6):
        source = LEGACY.replace("handler", f"handler_{i}").replace("(1)", f"( {i} )")
        (tmp_path / "src" / f"m{i}.py").write_text(source + f"table_{i} = {{ 'n':{i} }}\n")
    result = invoke("apply", "--jobs", jobs, "src")
    assert result.exit_code == 0, result.output + result.stderr
    for i in range(6):
        expected = FIXED.replace("handler", f"handler_{i}").replace("(1)", f"({i})")
        expected += f"table_{i} = {{ 'n':{i} }}\n"
        assert (tmp_path / "src" / f"m{i}.py").read_text() == expected
