"""The warm path (asyncfix/warm.py): a `check` answered from its record prints exactly
what the full command line prints for the same run served from the result cache, and
anything it cannot vouch for goes to the full command line."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from asyncfix import warm

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
LOCKED = (
    "import threading, time\n\nLOCK = threading.Lock()\n\n\n"
    "async def handler():\n    with LOCK:\n        time.sleep(1)\n"
)
# A suppression naming no rule: the run warns about it on stderr.
TYPO = "import time\n\n\nasync def handler():\n    time.sleep(1)  # asyncfix: ignore[AF999]\n"

# Runs the console entry point and leaves the modules it imported in $MODULES_OUT (also
# when the warm path ends the process with os._exit).
ENTRY = """
import json, os, sys
from asyncfix.warm import main
sys.argv[0] = "asyncfix"
def modules():
    with open(os.environ["MODULES_OUT"], "w") as fh:
        json.dump(sorted(sys.modules), fh)
def _exit(code, exit=os._exit):
    modules()
    exit(code)
os._exit = _exit
try:
    main()
finally:
    modules()
"""
# The full command line, never the warm path: what the warm path must print.
FULL = "import sys\nfrom asyncfix.cli import main\nsys.argv[0] = 'asyncfix'\nmain()\n"


class Run:
    def __init__(self, done: subprocess.CompletedProcess[str], modules: list[str]) -> None:
        self.code = done.returncode
        self.stdout = done.stdout
        # The run time is the only difference allowed.
        self.stderr = re.sub(r"; \d+\.\d\ds\n", "; TIME\n", done.stderr)
        self.modules = modules

    @property
    def warm(self) -> bool:
        """Served by the warm path: the command line was never imported."""
        return "asyncfix.cli" not in self.modules

    def output(self) -> tuple[int, str, str]:
        return self.code, self.stdout, self.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\n')
    (root / ".gitignore").write_text("generated/\n")
    (root / "src" / "app.py").write_text(LEGACY)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "locked.py").write_text(LOCKED)
    (root / "src" / "pkg" / "typo.py").write_text(TYPO)
    (root / "src" / "plain.py").write_text("x = 1\n")
    (root / "generated").mkdir()
    (root / "generated" / "big.py").write_text(LEGACY)
    return root


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ASYNCFIX_CACHE_DIR"}
    env["MODULES_OUT"] = str(tmp / "modules.json")
    return env


def entry(project: Path, *args: str, package: Path | None = None) -> Run:
    """`asyncfix ARGS` as the console script runs it (`package`: from that copy of it)."""
    env = _env(project.parent)
    if package is not None:
        env["PYTHONPATH"] = str(package)
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args], cwd=project, env=env, capture_output=True, text=True
    )
    return Run(done, json.loads(Path(env["MODULES_OUT"]).read_text()))


def full(project: Path, *args: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", FULL, *args],
        cwd=project,
        env=_env(project.parent),
        capture_output=True,
        text=True,
    )
    return Run(done, [])


FORMATS = [
    (),
    ("-q",),
    ("--output-format", "json"),
    ("--output-format=github",),
    ("--statistics",),
    ("--exit-zero", "-j", "2"),
]


def test_a_warm_run_prints_what_the_command_line_prints(project: Path) -> None:
    cold = entry(project, "check", ".")
    assert not cold.warm and cold.code == 1
    for options in FORMATS:
        served = entry(project, "check", *options, ".")
        assert served.warm, options
        assert served.output() == full(project, "check", *options, ".").output(), options
    # ... and prints what the cold run printed, the summary's parse count aside.
    assert served.stdout and cold.stdout == entry(project, "check", ".").stdout
    assert "names no asyncfix rule" in served.stderr


def test_never_imports_click_libcst_or_the_driver(project: Path) -> None:
    entry(project, "check", "src")
    served = entry(project, "check", "src")
    assert served.warm
    loaded = {m.split(".")[0] for m in served.modules} | set(served.modules)
    assert not loaded & {"click", "libcst", "pathspec", "asyncfix.driver", "asyncfix.cli"}
    assert "hashlib" not in loaded  # (OpenSSL: see warm.sha256)


def test_its_sha256_is_hashlib_s() -> None:
    assert warm._builtin_sha256 is not None
    for data in (b"", b"x", bytes(range(256)) * 1000):
        assert warm._builtin_sha256(data).digest() == hashlib.sha256(data).digest()


def test_files_given_and_errors(project: Path) -> None:
    """As pre-commit runs it: named files in a larger project; a syntax error exits 2."""
    (project / "src" / "broken.py").write_text("def f(:\n")
    args = ("check", "src/app.py", "src/broken.py", "src/plain.py")
    assert entry(project, *args).code == 2
    # Named files are recorded only once a run of them was served from the cache: as
    # pre-commit names them, they have usually just changed.
    assert not entry(project, *args).warm
    served = entry(project, *args)
    assert served.warm and served.code == 2
    assert served.output() == full(project, *args).output()


def _same_size_and_time(path: Path, old: str, new: str) -> None:
    info = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns


def _record(project: Path) -> dict[str, Any]:
    (path,) = (project / ".asyncfix_cache" / "warm").iterdir()
    record: dict[str, Any] = marshal.loads(path.read_bytes())
    return record


@pytest.mark.parametrize("changed", ["source", "project file", "asyncfix"])
def test_a_byte_changed_under_the_same_size_and_time_is_seen(
    project: Path, tmp_path: Path, changed: str
) -> None:
    (project / "src" / "pkg" / "requirements.txt").write_text("httpx\n")
    package = tmp_path / "lib"
    shutil.copytree(
        Path(warm.__file__).parent, package / "asyncfix", ignore=shutil.ignore_patterns("*.pyc")
    )
    # Older than the racy window: the record trusts the files' stamps (git's index way).
    time.sleep(warm.RACY_NS / 1e9 + 0.5)
    entry(project, "check", ".", package=package)
    record = _record(project)
    stamps = {display: known for display, _, known, _ in record["files"]}
    assert stamps["src/app.py"] is not None
    requirements = project / "src" / "pkg" / "requirements.txt"
    assert record["project"][str(requirements)][0] is not None
    assert record["package"][1]["__init__.py"][0] is not None
    assert entry(project, "check", ".", package=package).warm
    if changed == "source":
        _same_size_and_time(project / "src" / "app.py", "time.sleep(1)", "time.slee_(1)")
    elif changed == "project file":
        _same_size_and_time(requirements, "httpx", "httpy")
    else:
        _same_size_and_time(package / "asyncfix" / "__init__.py", "asyncfix:", "asyncfix;")
    again = entry(project, "check", ".", package=package)
    assert not again.warm
    if changed == "source":
        assert "app.py" not in again.stdout
        assert again.output() == full(project, "check", ".").output()


@pytest.mark.parametrize(
    "change",
    [
        "config",
        "project file",
        "new file",
        "new directory",
        "gitignore",
        "new gitignore below",
        "removed file",
    ],
)
def test_a_changed_tree_is_never_answered_from_the_record(project: Path, change: str) -> None:
    entry(project, "check", "src")
    assert entry(project, "check", "src").warm
    if change == "config":
        (project / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF203"]\n')
    elif change == "project file":
        (project / "src" / "pkg" / "requirements.txt").write_text("httpx\n")
    elif change == "new file":
        (project / "src" / "pkg" / "new.py").write_text(LEGACY)
    elif change == "new directory":
        (project / "src" / "more").mkdir()
        (project / "src" / "more" / "new.py").write_text(LEGACY)
    elif change == "gitignore":
        (project / ".gitignore").write_text("generated/\nsrc/pkg/\n")
    elif change == "new gitignore below":  # (in a listed directory that had none)
        (project / "src" / "pkg" / ".gitignore").write_text("locked.py\n")
    else:
        (project / "src" / "app.py").unlink()
    assert not entry(project, "check", "src").warm
    # Recorded again, for the new tree.
    again = entry(project, "check", "src")
    assert again.warm
    assert again.output() == full(project, "check", "src").output()


def test_what_discovery_does_not_look_at_keeps_the_record(project: Path) -> None:
    (project / "Dockerfile.in").write_text("FROM python\n")
    (project / "Dockerfile").symlink_to("Dockerfile.in")  # (not Python: never followed)
    entry(project, "check", ".")
    (project / "README.md").write_text("# proj\n")
    (project / ".ruff_cache").mkdir()  # another tool's cache
    (project / "src" / ".app.py.swp").write_bytes(b"\0")  # an editor's swap file
    served = entry(project, "check", ".")
    assert served.warm
    assert served.output() == full(project, "check", ".").output()


def test_a_link_discovery_meets_is_never_vouched_for(project: Path) -> None:
    (project / "src" / "alias.py").symlink_to("app.py")
    entry(project, "check", ".")
    again = entry(project, "check", ".")
    assert not again.warm
    assert again.output() == full(project, "check", ".").output()


def test_a_damaged_record_is_a_miss(project: Path) -> None:
    entry(project, "check", ".")
    (record,) = (project / ".asyncfix_cache" / "warm").iterdir()
    record.write_bytes(record.read_bytes()[:100])
    again = entry(project, "check", ".")
    assert not again.warm
    assert again.output() == full(project, "check", ".").output()


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--no-cache", "."),
        ("check", "--output-format", "sarif", "."),
        ("check", "--select", "AF2", "."),
        ("apply", "--dry-run", "."),
    ],
)
def test_what_it_does_not_know_goes_to_the_command_line(
    project: Path, args: tuple[str, ...]
) -> None:
    entry(project, *args)
    again = entry(project, *args)
    assert again.warm is (args[1:3] == ("--select", "AF2"))
    assert again.output() == full(project, *args).output()


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--no-cache"],
        ["check", "-"],
        ["check", "--stdin-filename", "a.py", "-"],
        ["check", "--profile", "p.json", "."],
        ["check", "--min-share", "1%", "."],
        ["check", "--output-format", "sarif"],
        ["check", "--statistics", "--output-format", "json"],
        ["check", "--help"],
        ["check", "-qv"],
        ["check", "-j", "0"],
        ["check", "--select"],
        ["check", ""],
        ["--version"],
        ["apply", "."],
        [],
    ],
)
def test_parse_refuses_what_it_does_not_handle(argv: list[str]) -> None:
    assert warm.parse(argv) is None


def test_parse_reads_options_as_click_does() -> None:
    options = warm.parse(
        [
            "check",
            "src",
            "--select",
            "AF2",
            "--select=AF3",
            "-j4",
            "-q",
            "--shard",
            "1/2",
            "--",
            "-x",
        ]
    )
    assert options is not None
    assert options.paths == ("src", "-x")
    assert options.select == ("AF2", "AF3")
    assert options.quiet and options.shard == "1/2" and options.output_format == "text"


def test_the_key_holds_asyncfix_and_the_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = warm.parse(["check", "."])
    assert options is not None
    key = warm.invocation_key(options)
    other = warm.parse(["check", "--select", "AF2", "."])
    assert other is not None and warm.invocation_key(other) != key
    monkeypatch.setattr(warm, "__version__", "999")
    assert warm.invocation_key(options) != key
    # (its source's digest is the record's: see test_a_byte_changed_under_...)


def test_the_package_digest_from_known_stamps_is_the_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm, "_package", [])  # (not this process's, made before an edit)
    digest, known = warm.package_stamps(time.time_ns())
    assert digest == warm.package_digest() == warm.package_digest(known)
    assert warm.package_digest({}) == digest
