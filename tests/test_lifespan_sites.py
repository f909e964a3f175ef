"""The lifespan family's description of what it matches (`shared/lifespan_sites`), and its
prescreens: SCREEN functions whose modules load no libcst."""

from __future__ import annotations

import ast
import subprocess
import sys

import libcst as cst
import libcst.matchers as m
import pytest

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.lifespan import CODEMODS
from asyncfix.codemods.shared.lifespan_sites import (
    APPS,
    CLIENTS,
    ENGINES,
    EVENTS,
    IMPORT_TIME_CLIENTS,
    PER_CALL,
    POOLS,
    ROUTES,
    Callees,
)


@pytest.mark.parametrize("codemod", CODEMODS, ids=lambda c: c.NAME)
def test_prescreen_is_a_screen_function(codemod: type[AsyncfixCodemod]) -> None:
    # The manifest asks SCREEN without the class: no prescreen classmethod may hide it.
    assert "prescreen" not in vars(codemod)
    assert codemod.SCREEN is not None


def test_screen_modules_load_no_libcst() -> None:
    modules = sorted({c.SCREEN.__module__ for c in CODEMODS} | {"asyncfix.codemods.view"})
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'libcst')\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"a SCREEN's module imports libcst: {proc.stderr}"


_TABLES = {
    "APPS": APPS,
    "CLIENTS": CLIENTS,
    "IMPORT_TIME_CLIENTS": IMPORT_TIME_CLIENTS,
    "ENGINES": ENGINES,
    "POOLS": POOLS,
}
_CALLEES = [
    "aiohttp.ClientSession",
    "ClientSession",
    "aiohttp.client.ClientSession",
    "httpx.AsyncClient",
    "x.y.AsyncClient",
    "AsyncClient[int]",
    "httpx.Limits",
    "TCPConnector",
    "create_async_engine",
    "fastapi.FastAPI",
    "make_client()",
    "ClientSessionFactory",
    "requests.Session",
    "session.get",
]


@pytest.mark.parametrize("table", _TABLES, ids=str)
@pytest.mark.parametrize("callee", _CALLEES)
def test_the_screen_sees_every_call_the_screen_on_libcst_sees(table: str, callee: str) -> None:
    # The prescreen (ast) must say yes wherever the libcst screen would.
    sites: Callees[object] = _TABLES[table]  # type: ignore[assignment]
    source = f"{callee}()"
    ast_call = ast.parse(source, mode="eval").body
    cst_call = cst.parse_expression(source)
    assert isinstance(ast_call, ast.Call) and isinstance(cst_call, cst.Call)
    if sites.cst_spelt_by(cst_call.func):
        assert sites.spelt_by(ast_call.func)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import httpx\n", True),
        ("from aiohttp import ClientSession\n", True),
        ("try:\n    import httpx\nexcept ImportError:\n    httpx = None\n", True),
        ("if TYPE_CHECKING:\n    from aiohttp.client import ClientSession\n", True),
        ("def f():\n    import httpx\n", False),
        ("import requests\nimport httpx_extras\n", False),
    ],
)
def test_both_sides_read_the_same_packages(source: str, found: bool) -> None:
    assert POOLS.ast_imported_by(ast.parse(source)) is found
    assert POOLS.cst_imported_by(cst.parse_module(source)) is found


@pytest.mark.parametrize(
    ("source", "event", "handler"),
    [
        ('@app.on_event("startup")\nasync def f(): ...\n', "startup", None),
        ('app.add_event_handler("shutdown", close)\n', "shutdown", "close"),
        ('app.add_event_handler(event_type="startup", func=open_db)\n', "startup", "open_db"),
        ("app.add_event_handler(*args)\n", None, None),
    ],
)
def test_both_sides_read_a_registration_alike(
    source: str, event: str | None, handler: str | None
) -> None:
    tree = ast.parse(source)
    module = cst.parse_module(source)
    assert EVENTS.cst_any_in(module)
    ast_call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    cst_call = next(iter(m.findall(module, m.Call(func=m.Attribute()))))
    assert isinstance(cst_call, cst.Call)
    ast_event = EVENTS.ast_arg(ast_call, EVENTS.event)
    cst_event = EVENTS.cst_arg(cst_call, EVENTS.event)
    assert (ast_event.value if isinstance(ast_event, ast.Constant) else None) == event
    assert (cst_event.evaluated_value if isinstance(cst_event, cst.SimpleString) else None) == event
    if "@" not in source:
        ast_handler = EVENTS.ast_arg(ast_call, EVENTS.handler)
        cst_handler = EVENTS.cst_arg(cst_call, EVENTS.handler)
        assert (ast_handler.id if isinstance(ast_handler, ast.Name) else None) == handler
        assert (cst_handler.value if isinstance(cst_handler, cst.Name) else None) == handler


@pytest.mark.parametrize(
    ("source", "route"),
    [
        ('@app.get("/")\nasync def f(): ...\n', True),
        ('@router.websocket("/ws")\nasync def f(): ...\n', True),
        ("@app.get\nasync def f(): ...\n", False),
        ('@app.on_event("startup")\nasync def f(): ...\n', False),
        ("async def f(): ...\n", False),
    ],
)
def test_both_sides_read_a_path_operation_alike(source: str, route: bool) -> None:
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.AsyncFunctionDef)
    cst_function = cst.parse_module(source).body[0]
    assert isinstance(cst_function, cst.FunctionDef)
    assert (ROUTES.ast_owner(function) is not None) is route
    assert ROUTES.cst_is_route(cst_function) is route


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        ("async with aiohttp.ClientSession() as s:\n    pass\n", ("aiohttp.ClientSession", "s")),
        ("async with httpx.AsyncClient(timeout=5) as c:\n    pass\n", ("httpx.AsyncClient", "c")),
        ("async with ClientSession() as (a, b):\n    pass\n", None),
        ("async with ClientSession():\n    pass\n", None),
        ("async with ClientSession() as a, other() as b:\n    pass\n", None),
        ("async with session as s:\n    pass\n", None),
    ],
)
def test_both_sides_read_a_per_call_block_alike(source: str, shape: tuple[str, str] | None) -> None:
    wrapped = "async def f():\n" + "".join(f"    {line}\n" for line in source.splitlines())
    block = next(n for n in ast.walk(ast.parse(wrapped)) if isinstance(n, ast.AsyncWith))
    cst_block = next(iter(m.findall(cst.parse_module(wrapped), m.With())))
    assert isinstance(cst_block, cst.With)
    found = PER_CALL.ast_shape(block)
    cst_found = PER_CALL.cst_shape(cst_block)
    assert (None if found is None else (ast.unparse(found[0].func), found[1])) == shape
    assert (
        None
        if cst_found is None
        else (cst.Module([]).code_for_node(cst_found[0].func), cst_found[1])
    ) == shape


def test_a_synchronous_with_is_no_per_call_block() -> None:
    with_node = cst.parse_statement("with aiohttp.ClientSession() as s:\n    pass\n")
    assert isinstance(with_node, cst.With)
    assert PER_CALL.cst_shape(with_node) is None
