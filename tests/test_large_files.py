"""No file takes the run hostage, and its bytes are kept (issue 20 items 5, 8 and 9).

Time linear in a module's size is measured by hand (bench/scaling.py): no timed test here.
The form feed cases are golden (testdata/reliability/form_feeds*.py).
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from asyncfix.config import DEFAULT_MAX_FILE_SIZE, Config, ConfigError, parse_table
from asyncfix.driver import Pipeline, RunResult, run

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    return 1\n"


def _apply(paths: list[Path], config: Config | None = None) -> RunResult:
    result = run(paths, config or Config(), jobs=1)
    for outcome in result.outcomes:
        if outcome.new is not None and not outcome.errors:
            outcome.file.path.write_bytes(outcome.new)
    return result


def _rewritten_once(path: Path, source: str) -> str:
    """The file after one apply, checked to compile and to be left alone by a second."""
    path.write_text(source)
    first = _apply([path])
    assert first.errors == [], first.errors
    new = path.read_text()
    compile(new, str(path), "exec")
    again = _apply([path])
    assert again.errors == [] and path.read_text() == new
    return new


# -- nesting up to CPython's own limits (issue 20 item 9) ------------------------------------


def _nested_ifs(levels: int) -> str:
    lines = ["import time", "", "", "async def handler(x):"]
    lines += ["    " * (i + 1) + f"if x > {i}:" for i in range(levels)]
    lines += ["    " * (levels + 1) + "time.sleep(1)", "    return x", ""]
    return "\n".join(lines)


def _in_handler(expression: str) -> str:
    return f"import time\n\n\nasync def handler(x):\n    y = {expression}\n    return y\n"


@pytest.mark.parametrize(
    "source",
    [
        # 99 levels of indentation: one more is CPython's "too many levels of indentation".
        _nested_ifs(98),
        # 200 is "too many nested parentheses".
        _in_handler("(" * 199 + "time.sleep(1)" + ")" * 199),
        _in_handler("f(" * 199 + "time.sleep(1)" + ")" * 199),
        # CPython's compiler stops at about 3,000; libcst needs over 6,000 frames here.
        _in_handler("not " * 2000 + "time.sleep(1)"),
    ],
    ids=["98-nested-ifs", "199-parentheses", "199-calls", "2000-nots"],
)
def test_nesting_cpython_compiles_is_rewritten(tmp_path: Path, source: str) -> None:
    compile(source, "<case>", "exec")  # the case is at (not past) CPython's limit
    new = _rewritten_once(tmp_path / "deep.py", source)
    assert "time.sleep" not in new and new.count("await ") == 1
    assert new.count("await asyncio.sleep(1)") == 1


def test_nesting_past_cpython_limit_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "deeper.py"
    path.write_text(_nested_ifs(99))
    result = _apply([path])
    assert [e.message for e in result.errors] == ["syntax error: too many levels of indentation"]
    assert path.read_text() == _nested_ifs(99)


def test_many_top_level_statements_get_their_import(tmp_path: Path) -> None:
    # libcst's import adder matched the whole module against `[docstring, ZeroOrMore()]`,
    # one recursion per top-level statement: a RecursionError past ~1000 of them. Run
    # without the driver's retry on a deeper stack, which would hide it.
    source = LEGACY + "".join(f"SETTING_{i} = {i}\n" for i in range(3000))
    pipeline = Pipeline(Config())
    run_ = pipeline.rewrite(cst.parse_module(source), source.encode(), source, "big.py")
    assert run_.result is not None
    assert run_.result.code == FIXED + source[len(LEGACY) :]


# -- the size bound (issue 20 item 5) ------------------------------------------------------


def test_file_over_max_file_size_is_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    big, small = tmp_path / "big.py", tmp_path / "small.py"
    big.write_text(LEGACY + "#" * 2000 + "\n")
    small.write_text(LEGACY)
    result = _apply([big, small], Config(max_file_size=1000))
    assert [(e.path, e.message) for e in result.errors] == [
        (
            str(big),
            "not rewritten: 2,067 bytes, over the limit of 1,000 "
            "(max-file-size in [tool.asyncfix]; 0: no limit)",
        )
    ]
    assert big.read_text() == LEGACY + "#" * 2000 + "\n"
    assert small.read_text() == FIXED
    assert not next(o for o in result.outcomes if o.file.path == big).parsed


def test_max_file_size_zero_means_no_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_text(LEGACY + "#" * 2000 + "\n")
    assert _apply([path], Config(max_file_size=0)).errors == []
    assert path.read_text() == FIXED + "#" * 2000 + "\n"


def test_an_app_module_over_the_limit_is_never_parsed_with_libcst(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lifespan plan tries the app module's rewrite on a libcst tree of it: over the
    # limit, the plan refuses without that parse, as the driver does.
    app = tmp_path / "app.py"
    source = (
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.on_event("startup")\nasync def start():\n    pass\n' + "#" * 1000 + "\n"
    )
    app.write_text(source)
    parsed: list[str | bytes] = []
    parse = cst.parse_module

    def recording(data: str | bytes, *args: object, **kwargs: object) -> cst.Module:
        parsed.append(data)
        return parse(data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cst, "parse_module", recording)
    result = _apply([app], Config(max_file_size=500))
    assert [e.message.split(":")[0] for e in result.errors] == ["not rewritten"]
    assert app.read_text() == source
    assert source.encode() not in parsed and source not in parsed
    monkeypatch.undo()
    assert _apply([app], Config(max_file_size=0)).errors == []
    assert "lifespan" in app.read_text()  # (what the limit stopped)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"1MB"', "max-file-size must be an integer"),
        ("true", "max-file-size must be an integer"),
        ("-1", "max-file-size must be a number of bytes (0: no limit)"),
    ],
)
def test_max_file_size_must_be_a_number_of_bytes(value: str, message: str) -> None:
    import tomllib

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_table(tomllib.loads(f"max-file-size = {value}"), None)


def test_max_file_size_default_and_setting() -> None:
    assert Config().max_file_size == DEFAULT_MAX_FILE_SIZE == 409_600
    assert parse_table({"max-file-size": 5_000_000}, None).max_file_size == 5_000_000
