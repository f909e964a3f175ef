"""Profile-guided ranking (issue 27): parsers, path mapping, ranking, the CLI, and a real
py-spy recording of the legacy app under load.

The profiles in tests/data/profiles/ were recorded by `python bench/profile_legacy.py`
(the legacy app under bench/e2e.py's load, py-spy --idle, and PYTHONASYNCIODEBUG=1).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from asyncfix.cli import main
from asyncfix.profiles import (
    HOT_BLOCKING,
    NO_RULE,
    SLOW_COROUTINE,
    Frame,
    ProfileError,
    SourceMap,
    blocking_leaf,
    load_profile,
    parse_min_share,
    parse_profile,
    profile_rules,
    rank,
    rank_run,
)
from asyncfix.report import Finding

REPO = Path(__file__).resolve().parent.parent
LEGACY = REPO / "testdata" / "legacy_app"
PROFILES = REPO / "tests" / "data" / "profiles"
SPEEDSCOPE = PROFILES / "legacy_app.speedscope.json"
RAW = PROFILES / "legacy_app.raw.txt"
LOG = PROFILES / "legacy_app.asyncio.log"
RECORDED = (SPEEDSCOPE, RAW)


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    app = tmp_path / "legacy_app"
    shutil.copytree(LEGACY, app, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    monkeypatch.chdir(app)
    return app


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output, result.stderr


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*.py")}


# -- each format parses ------------------------------------------------------------------------


def test_each_recorded_format_parses() -> None:
    speedscope, raw, log = (load_profile(p) for p in (SPEEDSCOPE, RAW, LOG))
    assert (speedscope.kind, raw.kind, log.kind) == ("speedscope", "raw", "asyncio-log")
    for profile in (speedscope, raw):
        assert len(profile.stacks) > 10  # (raw: distinct stacks, with their counts)
        # Root first: the script's <module> at the bottom, the loop's run above it.
        hot = max(profile.stacks, key=lambda s: s[1])[0]
        assert hot and all(isinstance(f, Frame) for f in hot)
        paths = {f.file for stack, _ in profile.stacks for f in stack}
        assert "/app/app/main.py" in paths  # relocated to the container's prefix
    names = {coro for coro, *_ in log.slow}
    assert "main" in names and all(seconds > 0 for *_, seconds in log.slow)
    assert ("main", "/app/serve.py", 22) in {(c, f, n) for c, f, n, _ in log.slow}


def test_formats_are_told_from_the_content() -> None:
    raw = "<module> (/app/x.py:3);f (/app/x.py:9) 7\n"
    assert parse_profile(raw).stacks == [
        ((Frame("<module>", "/app/x.py", 3), Frame("f", "/app/x.py", 9)), 7.0)
    ]
    log = (
        "WARNING:asyncio:Executing <Task pending name='Task-3' coro=<handler() running at "
        "/app/x.py:12> wait_for=<Future pending>> took 0.250 seconds\n"
        "Executing <Handle Timer.cb() at /usr/lib/x.py:3> took 0.120 seconds\n"
    )
    assert parse_profile(log).slow == [
        ("handler", "/app/x.py", 12, 0.25),
        ("", "", 0, 0.12),
    ]
    speedscope = json.dumps(
        {
            "shared": {"frames": [{"name": "f", "file": "/app/x.py", "line": 4}]},
            "profiles": [{"type": "sampled", "samples": [[0], [0]], "weights": [0.01, 0.02]}],
        }
    )
    assert parse_profile(speedscope).stacks == [
        ((Frame("f", "/app/x.py", 4),), 0.01),
        ((Frame("f", "/app/x.py", 4),), 0.02),
    ]
    for text in ("hello world\n", "{not json", "Executing <Task> nothing\n"):
        with pytest.raises(ProfileError):
            parse_profile(text)


# -- paths -------------------------------------------------------------------------------------


def test_profile_paths_map_onto_the_checkout(tmp_path: Path) -> None:
    for name in ("app/main.py", "app/db.py", "encoder.py", "serve.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    files = {n: tmp_path / n for n in ("app/main.py", "app/db.py", "encoder.py", "serve.py")}
    auto = SourceMap(files, base=tmp_path)
    assert auto.display("/app/app/main.py") == "app/main.py"  # a container's path
    assert auto.display(str(tmp_path / "app" / "db.py")) == "app/db.py"  # the checkout's own
    assert auto.display("/srv/serve.py") == "serve.py"  # the only serve.py
    assert auto.display("json/encoder.py") is None  # py-spy's short stdlib path
    assert auto.display("/usr/lib/python3.11/asyncio/base_events.py") is None
    rooted = SourceMap(files, root="/app", base=tmp_path)
    assert rooted.display("/app/app/main.py") == "app/main.py"
    assert rooted.display("/app/serve.py") == "serve.py"
    assert rooted.display("/elsewhere/app/main.py") is None  # outside the prefix


def test_known_blocking_leaves() -> None:
    loop = Frame("BaseEventLoop._run_once", "/usr/lib/python3.11/asyncio/base_events.py", 1)
    read = Frame("SocketIO.readinto", "/usr/lib/python3.11/socket.py", 706)
    assert blocking_leaf([loop, read]) == "a socket read"
    encode = Frame("JSONEncoder.iterencode", "json/encoder.py", 258)
    assert blocking_leaf([loop, encode]) == "json encoding"
    own = Frame("handler", "/app/x.py", 3)
    assert blocking_leaf([loop, own], "    time.sleep(1)") == "time.sleep"
    assert blocking_leaf([loop, own], "    total = a + b") is None
    assert blocking_leaf([]) is None


# -- ranking -----------------------------------------------------------------------------------


def _legacy_findings(legacy: Path) -> list[Finding]:
    code, out, _ = _cli("check", "--no-cache", "--output-format", "json", ".")
    assert code == 1
    return [Finding(**f) for f in json.loads(out)["findings"]]


@pytest.mark.parametrize("profile", RECORDED, ids=lambda p: p.name)
def test_the_blocking_requests_call_ranks_first(legacy: Path, profile: Path) -> None:
    findings = _legacy_findings(legacy)
    ranked, shares = rank_run(findings, _files(legacy), [profile], "/app", legacy)
    top = ranked[0]
    # What profiling the app by hand names: requests.get in get_order, the hot endpoint.
    assert (top.code, top.path, top.line) == ("AF201", "app/main.py", 70)
    statement, function = shares[top].statement, shares[top].function
    assert statement is not None and function is not None
    assert statement > 0.5 and function >= statement
    assert shares[top].function_name == "get_order"
    # Sorted by share; every finding of the run is there, ranked.
    keys = [shares[f].key for f in ranked]
    assert keys == sorted(keys, reverse=True)
    assert set(findings) <= set(ranked)
    # The json.dumps of the same endpoint shares its function's time.
    dumps = next(f for f in ranked if (f.code, f.line) == ("AF103", 73))
    assert shares[dumps].function == shares[top].function


def _raw_profile(*stacks: tuple[list[tuple[str, str, int]], int]) -> str:
    loop = "run (asyncio/runners.py:190);BaseEventLoop._run_once (asyncio/base_events.py:1922)"
    lines = []
    for frames, count in stacks:
        parts = [loop, *(f"{fn} ({file}:{line})" for fn, file, line in frames)]
        lines.append(f"{';'.join(parts)} {count}")
    return "\n".join(lines) + "\n"


def test_a_hot_blocking_frame_no_rule_covers_is_af701(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(
        "import socket\n\n\n"
        "async def fetch(sock):\n"
        "    data = sock.makefile('rb').read(10)\n"
        "    return data\n\n\n"
        "async def idle():\n"
        "    return 1\n"
    )
    text = _raw_profile(
        ([("fetch", "/srv/svc.py", 5), ("SocketIO.readinto", "/usr/lib/socket.py", 706)], 30),
        ([("idle", "/srv/svc.py", 10)], 10),
        ([("BaseSelector.select", "/usr/lib/selectors.py", 468)], 500),  # the loop waiting
    )
    profile = parse_profile(text)
    sources = SourceMap({"svc.py": tmp_path / "svc.py"}, base=tmp_path)
    ranked, shares = rank([], [profile], sources)
    (hot,) = ranked[:1]
    assert (hot.code, hot.path, hot.line, hot.column) == (HOT_BLOCKING, "svc.py", 5, 5)
    assert hot.reason == NO_RULE and not hot.fixable and "a socket read" in hot.message
    # The loop's wait in the selector is no one's cost: 30 of the 40 busy samples.
    assert shares[hot].statement == pytest.approx(0.75)
    assert shares[hot].function == pytest.approx(0.75) and shares[hot].function_name == "fetch"
    assert [f.code for f in ranked] == [HOT_BLOCKING]  # idle() blocks on nothing known
    # A rule's finding at that statement covers it: then no AF701, and the share is its own.
    covered = Finding("svc.py", 5, 12, "AF204", "http_client", "socket read", False, "x")
    ranked, shares = rank([covered], [profile], sources)
    assert ranked == [covered] and shares[covered].statement == pytest.approx(0.75)


def test_an_entry_point_in_every_stack_takes_only_its_own_blocking_share(
    tmp_path: Path,
) -> None:
    # serve.py's `asyncio.run(main())` is in every sample; a few samples block (json
    # encoding) with no deeper frame of the project: its AF701 share is those few, and
    # the rule's finding in the handler, where most samples are, ranks first.
    (tmp_path / "serve.py").write_text("import asyncio\n\nasyncio.run(main())\n")
    (tmp_path / "svc.py").write_text(
        "import requests\n\n\nasync def handler(u):\n    return requests.get(u)\n"
    )
    text = _raw_profile(
        (
            [
                ("<module>", "/srv/serve.py", 3),
                ("handler", "/srv/svc.py", 5),
                ("SocketIO.readinto", "/usr/lib/socket.py", 706),
            ],
            90,
        ),
        ([("<module>", "/srv/serve.py", 3), ("encode", "/usr/lib/json/encoder.py", 199)], 10),
    )
    files = {"serve.py": tmp_path / "serve.py", "svc.py": tmp_path / "svc.py"}
    sources = SourceMap(files, base=tmp_path)
    rule = Finding("svc.py", 5, 12, "AF201", "http_client", "requests.get()", True)
    ranked, shares = rank([rule], [parse_profile(text)], sources)
    assert ranked[0] == rule and shares[rule].statement == pytest.approx(0.9)
    (entry,) = [f for f in ranked if f.code == HOT_BLOCKING]
    assert entry.path == "serve.py" and shares[entry].statement == pytest.approx(0.1)


def test_a_stray_blocking_sample_is_no_hot_frame(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text("async def f():\n    x = 1\n    y = 2\n")
    text = _raw_profile(
        ([("f", "/srv/svc.py", 2), ("SocketIO.readinto", "/usr/lib/socket.py", 706)], 1),
        ([("f", "/srv/svc.py", 3)], 999),
    )
    sources = SourceMap({"svc.py": tmp_path / "svc.py"}, base=tmp_path)
    ranked, _ = rank([], [parse_profile(text)], sources)
    assert ranked == []


def test_a_slow_coroutine_from_the_debug_log_is_af702(legacy: Path) -> None:
    findings = _legacy_findings(legacy)
    ranked, shares = rank_run(findings, _files(legacy), [LOG], "/app", legacy)
    slow = [f for f in ranked if f.code == SLOW_COROUTINE]
    # The recorded log names serve.py's main(): the slow first step imports the app.
    (main_slow,) = slow
    assert (main_slow.path, main_slow.line) == ("serve.py", 13)
    assert "main()" in main_slow.message and main_slow.reason == NO_RULE
    assert ranked[0] == main_slow
    # A log names coroutines, not statements: only the function's share is known.
    function = shares[main_slow].function
    assert shares[main_slow].statement is None and function is not None and function > 0.5


def test_min_share_parses_percentages() -> None:
    assert parse_min_share("1%") == pytest.approx(0.01)
    assert parse_min_share("0.5") == pytest.approx(0.005)
    for bad in ("much", "150%", "-1"):
        with pytest.raises(ValueError):
            parse_min_share(bad)


# -- the command line --------------------------------------------------------------------------


def test_check_text_is_sorted_by_share_with_percentages(legacy: Path) -> None:
    code, out, _ = _cli("check", "--no-cache", "--profile", str(RAW), "--profile-root", "/app")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split()[0].endswith("%") and "(get_order " in lines[0]
    assert "app/main.py:70:16: AF201" in lines[0]
    shares = [float(line.split()[0].rstrip("%")) for line in lines]
    assert shares == sorted(shares, reverse=True)


def test_min_share_limits_check_and_apply(legacy: Path) -> None:
    code, out, _ = _cli(
        "check", "--no-cache", "--profile", str(SPEEDSCOPE), "--min-share", "10%", "."
    )
    assert code == 1
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()] == ["AF201"]
    code, out, _ = _cli(
        "apply", "--no-cache", "--dry-run", "--profile", str(SPEEDSCOPE), "--min-share", "10%", "."
    )
    # Only app/main.py holds a finding that matters: app/db.py's rewrite is not offered.
    assert "+++ b/app/main.py" in out and "+++ b/app/db.py" not in out
    code, out, _ = _cli("apply", "--no-cache", "--dry-run", ".")
    assert "+++ b/app/db.py" in out  # (it is, without --min-share)


def test_min_share_apply_fixes_the_sites_that_matter_and_leaves_the_rest(legacy: Path) -> None:
    before = (legacy / "app" / "main.py").read_text()
    code, _, err = _cli(
        "apply", "--no-cache", "--profile", str(SPEEDSCOPE), "--min-share", "10%", "."
    )
    assert code == 0, err
    after = (legacy / "app" / "main.py").read_text()
    compile(after, "main.py", "exec")
    # The hot site (get_order's requests.get, 87% of the loop) is fixed, with the lifespan
    # its shared client needs (AF301/AF302: prerequisites of AF201, below the share).
    get_order = after[after.index("async def get_order") : after.index("async def create_order")]
    assert "await request.app.state.http_client.get(" in get_order
    assert "requests.get(" not in get_order and "lifespan=lifespan" in after
    # The other sites of the same file, below the share, are left as written.
    create_order = after[after.index("async def create_order") :]
    for unchanged in (
        '    upstream = requests.get(f"{UPSTREAM_URL}/inventory/{payload.sku}")\n',  # AF201
        "    db.refresh(order)  # forgotten await: the coroutine never runs\n",  # AF501
        "    body = json.dumps(_order_json(order, total, stock))\n",  # AF103
    ):
        assert unchanged in before and unchanged in create_order
    assert "    time.sleep(0.1)  # give the upstream a moment\n" in after  # AF203
    assert "async def _order_total(" in after  # AF601
    # Without --min-share the same sites are fixed: the limit is what left them.
    (legacy / "app" / "main.py").write_text(before)
    _cli("apply", "--no-cache", ".")
    everything = (legacy / "app" / "main.py").read_text()
    assert "await db.refresh(order)" in everything and "asyncio.sleep(0.1)" in everything
    code, _, err = _cli("check", "--no-cache", "--min-share", "1%", ".")
    assert code == 2 and "--min-share needs --profile" in err


STDIN = ("--stdin-filename", "app/main.py", "-")


def test_stdin_apply_takes_the_profile_as_a_path_run_does(legacy: Path) -> None:
    # An editor pipes the buffer: the same limit, the same ranked findings, on stdin.
    before = (legacy / "app" / "main.py").read_bytes()
    profile = ("--profile", str(SPEEDSCOPE), "--min-share", "10%")
    result = CliRunner(mix_stderr=False).invoke(
        main,
        ["apply", "--no-cache", *profile, *STDIN],
        input=before,
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.stderr
    after = result.stdout_bytes.decode()
    compile(after, "main.py", "exec")
    get_order = after[after.index("async def get_order") : after.index("async def create_order")]
    assert "await request.app.state.http_client.get(" in get_order
    assert "    db.refresh(order)  # forgotten await: the coroutine never runs\n" in after
    assert (legacy / "app" / "main.py").read_bytes() == before
    # What is left unfixed is listed with its share, as a path run lists it.
    result = CliRunner(mix_stderr=False).invoke(
        main,
        ["apply", "--no-cache", "--profile", str(RAW), "--profile-root", "/app", *STDIN],
        input=before,
        catch_exceptions=False,
    )
    lines = result.stderr.splitlines()
    ranked = [line for line in lines if ": AF" in line and not line.startswith("asyncfix:")]
    assert ranked and all(line.split()[0].endswith("%") for line in ranked), result.stderr


def test_profile_rules_are_selected_and_ignored_like_the_others(legacy: Path) -> None:
    profiles = ("--profile", str(SPEEDSCOPE), "--profile", str(LOG))

    def codes(*args: str) -> set[str]:
        code, out, err = _cli("check", "--no-cache", *profiles, *args, ".")
        assert code == 1, err
        return {line.split(": ")[1].split()[0] for line in out.splitlines()}

    every = codes()
    assert SLOW_COROUTINE in every and "AF201" in every
    assert codes("--ignore", SLOW_COROUTINE) == every - {SLOW_COROUTINE}
    assert codes("--ignore", "profile") == every - {HOT_BLOCKING, SLOW_COROUTINE}
    # Selected alone, the hot requests.get is no rule's finding: AF701 names it.
    assert codes("--select", "AF7") == {HOT_BLOCKING, SLOW_COROUTINE}
    assert codes("--select", f"{HOT_BLOCKING},AF203") == {HOT_BLOCKING, "AF203"}
    (legacy / "pyproject.toml").write_text(
        (legacy / "pyproject.toml").read_text()
        + f'\n[tool.asyncfix]\nignore = ["{SLOW_COROUTINE}"]\n'
    )
    assert codes() == every - {SLOW_COROUTINE}


def test_json_and_sarif_carry_the_share(legacy: Path) -> None:
    args = ("check", "--no-cache", "--profile", str(SPEEDSCOPE), ".")
    _, out, _ = _cli(*args, "--output-format", "json")
    top = json.loads(out)["findings"][0]
    assert top["code"] == "AF201" and top["profile"]["function"] == "get_order"
    assert top["profile"]["share"] > 0.5
    _, out, _ = _cli(*args, "--output-format", "sarif")
    (run,) = json.loads(out)["runs"]
    assert run["results"][0]["properties"]["profile"] == top["profile"]
    assert {HOT_BLOCKING, SLOW_COROUTINE} <= {r["id"] for r in run["tool"]["driver"]["rules"]}
    # Without --profile nothing changes: no "profile" property.
    _, out, _ = _cli("check", "--no-cache", "--output-format", "json", ".")
    assert all("profile" not in f for f in json.loads(out)["findings"])


def test_profile_rules_are_listed_and_explained() -> None:
    _, out, _ = _cli("list")
    assert f"   {HOT_BLOCKING}  " in out and f"   {SLOW_COROUTINE}  " in out
    assert "profile/profile-guided (with --profile; report only)" in out
    for code in profile_rules():
        status, out, _ = _cli("explain", code)
        assert status == 0 and "rule covers" in out and "--profile" in out


def test_an_unreadable_profile_is_a_usage_error(legacy: Path) -> None:
    (legacy / "bad.prof").write_text("nothing here\n")
    code, _, err = _cli("check", "--no-cache", "--profile", "bad.prof", ".")
    assert code == 2 and "not a py-spy" in err


# -- end to end: a real py-spy recording of the legacy app under load -------------------------


def _ptrace_refusal() -> str | None:
    scope = Path("/proc/sys/kernel/yama/ptrace_scope")
    if scope.exists() and scope.read_text().strip() not in ("0", "1") and os.geteuid() != 0:
        return f"ptrace is not allowed here ({scope} = {scope.read_text().strip()}, not root)"
    return None


def test_a_real_py_spy_profile_of_the_legacy_app_ranks_requests_first(legacy: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        pytest.skip("py-spy is not installed (pip install py-spy)")
    refusal = _ptrace_refusal()
    if refusal:
        pytest.skip(refusal)
    # bench/ is no package: its script by path (it imports its sibling e2e.py the same way).
    sys.path.insert(0, str(REPO / "bench"))
    try:
        profile_legacy = importlib.import_module("profile_legacy")
    finally:
        sys.path.remove(str(REPO / "bench"))
    try:
        written = profile_legacy.profile_app(
            legacy.parent / "recorded", 2.0, 20, 50, 50.0, ("speedscope",)
        )
    except RuntimeError as exc:
        if "ermission" in str(exc) or "ptrace" in str(exc):
            pytest.skip(f"py-spy cannot attach here: {exc}")
        raise
    code, out, _ = _cli(
        "check", "--no-cache", "--profile", str(written["speedscope"]), "--profile-root", "/app"
    )
    assert code == 1
    first = out.splitlines()[0]
    assert "app/main.py:70:16: AF201" in first, out
    assert float(first.split()[0].rstrip("%")) > 20


def test_profile_findings_are_suppressed_like_the_others(legacy: Path) -> None:
    profiles = ("--profile", str(SPEEDSCOPE), "--profile", str(LOG))

    def found() -> list[dict[str, Any]]:
        _, out, _ = _cli(
            "check", "--no-cache", *profiles, "--select", "AF7", "--output-format", "json", "."
        )
        return [f for f in json.loads(out)["findings"] if f["code"] == HOT_BLOCKING]

    (hot,) = found()[:1]
    path = legacy / hot["path"]
    lines = path.read_text().splitlines(keepends=True)
    original = "".join(lines)
    # A noqa for it on its line.
    line = lines[hot["line"] - 1]
    lines[hot["line"] - 1] = line.rstrip("\n") + f"  # noqa: {HOT_BLOCKING}\n"
    path.write_text("".join(lines))
    assert all(f["line"] != hot["line"] or f["path"] != hot["path"] for f in found())
    # The file's per-file-ignores.
    path.write_text(original)
    (legacy / "pyproject.toml").write_text(
        (legacy / "pyproject.toml").read_text()
        + f'\n[tool.asyncfix.per-file-ignores]\n"{hot["path"]}" = ["profile"]\n'
    )
    assert all(f["path"] != hot["path"] for f in found())
