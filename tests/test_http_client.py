"""http_client family: options, the default target library, AF206 opt-in, the AF205 plan."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from asyncfix.cli import main
from asyncfix.codemods.http_client import (
    BlockingCalls,
    HttpOptions,
    RequestsToAsync,
    blocking_functions,
    http_options,
    shared_client,
)
from asyncfix.codemods.http_client.blocking_plan import _Defines
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config, ConfigError, parse_table
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile, discover
from asyncfix.index import ProjectIndex

REQUESTS_CODE = "import requests\n\n\nasync def f(u):\n    return requests.get(u).text\n"


def _config(table: dict[str, object], source: Path | None = None) -> Config:
    return parse_table({"http_client": table}, source)


def test_defaults_keep_requests_semantics() -> None:
    # No pool limits without configuration: the library's own stay.
    assert http_options(Config()) == HttpOptions("httpx2", None, True, ())
    options = http_options(_config({"library": "aiohttp", "timeout": 5, "follow-redirects": False}))
    assert options == HttpOptions("aiohttp", 5.0, False, ())


def test_the_shared_client_takes_the_lifespan_pool_limits() -> None:
    # One table sets every pool asyncfix creates: AF303's and the AF201 shared client's.
    config = parse_table(
        {"http_client": {"library": "aiohttp"}, "lifespan": {"aiohttp-limit-per-host": 5}},
        None,
    )
    create, close = shared_client(http_options(config))
    assert close == "close"
    assert cst.Module([]).code_for_node(create) == (
        "aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(), "
        "connector=aiohttp.TCPConnector(limit_per_host=5))"
    )
    # Unconfigured: the library's pool, and no keyword that only spells out its default.
    create, _ = shared_client(http_options(parse_table({}, None)))
    assert cst.Module([]).code_for_node(create) == (
        "httpx2.AsyncClient(follow_redirects=True, timeout=None)"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"libary": "httpx"}, "unknown key 'libary'"),
        ({"library": "urllib3"}, "library must be one of 'httpx2', 'httpx', 'aiohttp'"),
        ({"timeout": "5"}, "timeout must be a positive number"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": True}, "timeout must be a positive number"),
        ({"follow-redirects": "yes"}, "follow-redirects must be true or false"),
    ],
)
def test_bad_options_are_clear_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        http_options(_config(table))


@pytest.mark.parametrize(
    ("dependencies", "library"),
    [
        ('["fastapi", "httpx>=0.27"]', "httpx"),
        ("[\"aiohttp[speedups]>=3.9; python_version >= '3.10'\"]", "aiohttp"),
        ('["httpx2", "aiohttp"]', "httpx2"),
        ('["requests"]', "httpx2"),
    ],
)
def test_default_library_is_the_one_the_project_depends_on(
    tmp_path: Path, dependencies: str, library: str
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "x"\ndependencies = {dependencies}\n')
    assert http_options(Config(source=pyproject)).library == library


def test_a_bad_option_is_a_usage_error_before_any_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.asyncfix.http_client]\nlibrary = "curl"\n')
    (tmp_path / "app.py").write_text(REQUESTS_CODE)
    result = CliRunner(mix_stderr=False).invoke(main, ["apply", "--no-cache", "app.py"])
    assert result.exit_code == 2
    assert "library must be one of" in result.stderr
    assert (tmp_path / "app.py").read_text() == REQUESTS_CODE


def test_af206_runs_only_when_selected_by_code() -> None:
    source = b"import httpx\n\nHOME = httpx.URL('https://example.com/')\n"
    file = SourceFile(Path("m.py"), "m.py")
    for select, changed in ((("AF",), False), (("http_client",), False), (("AF206",), True)):
        outcome = Pipeline(Config(select=select)).process(file, source)
        assert (outcome.new is not None) is changed, select
    outcome = Pipeline(Config(select=("AF206",))).process(file, source)
    assert outcome.new == b"import httpx2 as httpx\n\nHOME = httpx.URL('https://example.com/')\n"
    assert outcome.packages == {"httpx2"}


def test_blocking_helpers_are_found_across_modules_and_generators_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text(
        "import subprocess\n\n\ndef sh(c):\n    return subprocess.run(c)\n\n\n"
        "def lines(c):\n    yield subprocess.run(c)\n"
    )
    (pkg / "mid.py").write_text("from .low import sh as run_it\n\n\ndef deploy():\n    run_it(1)\n")
    (pkg / "top.py").write_text(
        "from pkg import mid\n\n\nasync def go():\n    mid.deploy()\n\n\n"
        "async def fine():\n    return mid.deploy\n"
    )
    files, _ = discover([Path(".")])
    index = ProjectIndex(files)
    found = blocking_functions(index.modules())
    assert found == {
        "pkg.low.sh": "sh -> subprocess.run",
        "pkg.mid.deploy": "deploy -> sh -> subprocess.run",
    }
    result = run([Path(".")], Config(select=("AF205",)), jobs=1)
    changed = {o.file.display: o.new for o in result.outcomes if o.new}
    assert list(changed) == ["pkg/top.py"]
    assert b"await asyncio.to_thread(mid.deploy)" in changed["pkg/top.py"]
    assert [f.code for f in result.findings] == ["AF205"]


def test_an_async_def_that_a_later_def_shadows_keeps_its_af205_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The index keeps the last def of a qualname: the plan must not judge by it alone.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(
        "import time\n\n\ndef pause():\n    time.sleep(1)\n\n\n"
        "try:\n    async def go():\n        pause()\n"
        "except ImportError:\n    async def go():\n        pass\n"
    )
    (tmp_path / "n.py").write_text("from m import pause\n\n\nasync def wait():\n    return 1\n")
    files, _ = discover([Path(".")])
    plan = BlockingCalls.plan(ProjectIndex(files), Config())
    assert plan == {"m.py": {"go": {"pause": "pause -> time.sleep"}}}


@pytest.mark.parametrize(
    ("source", "name", "found"),
    [
        (b"def foo():\n    pass\n", "foo", True),
        (b"async def foo():\n    pass\n", "foo", True),
        (b"def foobar():\n    pass\n", "foo", False),
        (b"def _foo():\n    pass\n", "foo", False),
        (b"# undef foo\n", "foo", False),
        (b"x = 'def def foo'\n", "foo", True),
        (b"def \\\n    foo():\n    pass\n", "foo", True),
        (b"x = '\xc3\xa9def foo'\n", "foo", True),
        (b"def foo():\n    pass\n", "f", False),
        (b"def f\xc3\xa9():\n    pass\n", "f", True),
    ],
)
def test_the_def_scan_answers_as_a_search_for_the_name_would(
    source: bytes, name: str, found: bool
) -> None:
    spelt = rb"\bdef[\s\\]+" + re.escape(name.encode()) + rb"\b"
    assert (re.search(spelt, source) is not None) is found
    assert _Defines().of(name)("m.py", source) is found


def test_a_dependency_that_calls_requests_is_planned_in_its_own_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deps.py").write_text(
        "import requests\n\n\ndef token():\n    return requests.get('https://a').text\n"
    )
    (tmp_path / "api.py").write_text(
        "from fastapi import Depends, Security\n\nfrom deps import token\n\n\n"
        "async def one(t=Depends(token)):\n    return t\n\n\n"
        "async def two(t=Security(dependency=token)):\n    return t\n"
    )
    files, _ = discover([Path(".")])
    plan = RequestsToAsync.plan(ProjectIndex(files), Config())
    assert plan == {"deps.py": {"dependencies": ["token", "token"]}}


# Each alone must pass BlockingCalls' prescreen: the transform reports it (AF204 or AF205).
_SCREEN_SHAPES = [
    "import subprocess as sp\nasync def f(c):\n    sp.run(c)\n",
    "import os.path\nasync def f(c):\n    os.system(c)\n",
    "from os import system as shell\nasync def f(c):\n    shell(c)\n",
    "import urllib.request\nasync def f(u):\n    urllib.request.urlopen(u)\n",
    "from urllib import request as r\nasync def f(u):\n    r.urlopen(u)\n",
    "async def f(p):\n    return [open(x) for x in p]\n",
    "def g():\n    async def f(h):\n        import socket\n        socket.getaddrinfo(h, 80)\n",
    "async def f(h):\n    import socket\n    return (socket\n        .gethostbyname(h))\n",
    "async def f(h):\n    # café\n    import socket\n    return socket.create_connection(h)\n",
    "from time import sleep as nap\ndef g():\n    nap(1)\nasync def f():\n    g()\n",
    "import subprocess\ndef g():\n    subprocess.check_call(['x'])\nasync def f():\n    g()\n",
]


@pytest.mark.parametrize("source", _SCREEN_SHAPES)
def test_blocking_calls_prescreen_passes_what_it_reports(source: str) -> None:
    data = source.encode()
    view = SourceView("m.py", data, ast.parse(data), Config(), Pipeline(Config()).enabled)
    assert BlockingCalls.prescreen(view)
    outcome = Pipeline(Config(), [BlockingCalls]).process(SourceFile(Path("m.py"), "m.py"), data)
    assert {f.code for f in outcome.findings} & {"AF204", "AF205"}


def test_blocking_calls_prescreen_rejects_other_urllib_names() -> None:
    data = b"from urllib.parse import urlencode\nasync def f(q):\n    return urlencode(q)\n"
    view = SourceView("m.py", data, ast.parse(data), Config(), Pipeline(Config()).enabled)
    assert not BlockingCalls.prescreen(view)
