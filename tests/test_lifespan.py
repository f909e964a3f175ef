"""The lifespan family's public helper, `add_lifespan_resource`, and its options."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from asyncfix import syntax
from asyncfix.codemods.base import FileRun
from asyncfix.codemods.lifespan.migrate import apply_on_event
from asyncfix.codemods.lifespan.on_event import OnEventToLifespan
from asyncfix.codemods.lifespan.plan import compute_plan
from asyncfix.codemods.lifespan.plan_clients import may_open_client
from asyncfix.codemods.shared.app_events import Facts, Registration, scan_module
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
from asyncfix.codemods.shared.pool_options import configured_options, pool_limits
from asyncfix.config import Config, ConfigError
from asyncfix.files import SourceFile
from asyncfix.index import ModuleInfo, ProjectIndex, forget, index_module


def _add(source: str, *args: object, **kwargs: object) -> str | None:
    module = cst.parse_module(textwrap.dedent(source))
    new = add_lifespan_resource(module, *args, **kwargs)  # type: ignore[arg-type]
    return None if new is None else new.code


CLIENT = cst.parse_expression("httpx.AsyncClient()")

PLAIN_APP = """\
    import httpx
    from fastapi import FastAPI

    # the app
    app = FastAPI(title="shop")


    @app.get("/")
    async def root():
        return 1
"""


def test_creates_a_lifespan_when_the_app_has_none() -> None:
    assert _add(PLAIN_APP, "app", "http_client", CLIENT, "aclose") == textwrap.dedent(
        """\
        import httpx
        from fastapi import FastAPI
        from contextlib import asynccontextmanager


        @asynccontextmanager
        async def lifespan(app: FastAPI):
            app.state.http_client = httpx.AsyncClient()
            try:
                yield
            finally:
                await app.state.http_client.aclose()


        # the app
        app = FastAPI(title="shop", lifespan=lifespan)


        @app.get("/")
        async def root():
            return 1
        """
    )


def test_import_goes_through_the_context_when_given() -> None:
    context = CodemodContext()
    code = _add(PLAIN_APP, "app", "http_client", CLIENT, "aclose", context=context)
    assert code is not None and "from contextlib" not in code
    [item] = context.scratch[AddImportsVisitor.CONTEXT_KEY]
    assert (item.module_name, item.obj_name, item.alias) == (
        "contextlib",
        "asynccontextmanager",
        None,
    )


def test_second_resource_and_same_resource_again() -> None:
    once = _add(PLAIN_APP, "app", "http_client", CLIENT, "aclose")
    assert once is not None
    module = cst.parse_module(once)
    # The same client again (even with pool limits added since): nothing to do.
    with_limits = cst.parse_expression("httpx.AsyncClient(limits=httpx.Limits())")
    assert add_lifespan_resource(module, "app", "http_client", with_limits, "aclose") is module
    # The same attribute for something else: refused.
    other = cst.parse_expression("httpx.AsyncClient(base_url='http://x')")
    assert add_lifespan_resource(module, "app", "http_client", other, "aclose") is None
    # A close-only resource lands after the existing shutdown code, once.
    dispose = cst.parse_expression("await engine.dispose()")
    twice = add_lifespan_resource(module, "app", None, None, dispose)
    assert twice is not None
    assert "        await app.state.http_client.aclose()\n        await engine.dispose()\n" in (
        twice.code
    )
    assert add_lifespan_resource(twice, "app", None, None, dispose) is twice


def test_merges_into_a_plain_existing_lifespan() -> None:
    code = _add(
        """\
        import contextlib
        from fastapi import FastAPI

        @contextlib.asynccontextmanager
        async def lifespan_ctx(application: FastAPI):
            \"\"\"Doc.\"\"\"
            application.state.db = 1
            try:
                yield {"k": 1}
            finally:
                print("bye")

        app = FastAPI(
            title="x",
            lifespan=lifespan_ctx,
        )
        """,
        "app",
        "session",
        cst.parse_expression("aiohttp.ClientSession()"),
        "close",
    )
    assert code == textwrap.dedent(
        """\
        import contextlib
        from fastapi import FastAPI

        @contextlib.asynccontextmanager
        async def lifespan_ctx(application: FastAPI):
            \"\"\"Doc.\"\"\"
            application.state.db = 1
            application.state.session = aiohttp.ClientSession()
            try:
                yield {"k": 1}
            finally:
                print("bye")
                await application.state.session.close()

        app = FastAPI(
            title="x",
            lifespan=lifespan_ctx,
        )
        """
    )


def test_a_lifespan_without_finally_gets_the_close_at_its_end() -> None:
    code = _add(
        """\
        from contextlib import asynccontextmanager
        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            yield
            print("bye")

        app = FastAPI(lifespan=lifespan)
        """,
        "app",
        None,
        None,
        cst.parse_expression("await engine.dispose()"),
    )
    assert code is not None
    assert code.endswith(
        '    yield\n    print("bye")\n    await engine.dispose()\n\n'
        "app = FastAPI(lifespan=lifespan)\n"
    )


@pytest.mark.parametrize(
    ("source", "why"),
    [
        (
            """\
            from fastapi import FastAPI
            app = FastAPI()

            @app.on_event("startup")
            async def start(): ...
            """,
            "on_event handlers would be silenced",
        ),
        (
            """\
            from fastapi import FastAPI
            app = FastAPI(on_startup=[start])
            """,
            "on_startup= handlers would be silenced",
        ),
        (
            """\
            from fastapi import FastAPI
            app = FastAPI(lifespan=make_lifespan())
            """,
            "a lifespan that is not a function of this module",
        ),
        (
            """\
            from fastapi import FastAPI
            async def lifespan(app):
                yield
            app = FastAPI(lifespan=lifespan)
            """,
            "not decorated with @asynccontextmanager",
        ),
        (
            """\
            from contextlib import asynccontextmanager
            from fastapi import FastAPI
            @asynccontextmanager
            async def lifespan(app):
                if app.debug:
                    yield
                else:
                    yield
            app = FastAPI(lifespan=lifespan)
            """,
            "two yields",
        ),
        (
            """\
            from fastapi import FastAPI
            from mylib import asynccontextmanager
            app = FastAPI()
            """,
            "asynccontextmanager means something else",
        ),
        (
            """\
            from fastapi import FastAPI
            def make():
                app = FastAPI()
                return app
            """,
            "no module-level app",
        ),
    ],
)
def test_refuses_what_it_cannot_do_safely(source: str, why: str) -> None:
    assert _add(source, "app", "http_client", CLIENT, "aclose") is None, why


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        _add(PLAIN_APP, "app", None, None, "aclose")
    with pytest.raises(ValueError):
        _add(PLAIN_APP, "app", "client", None, "aclose")


def test_options_are_validated() -> None:
    assert configured_options(Config()) == {}  # no limit unless the project chooses one
    custom = Config(families={"lifespan": {"httpx-max-connections": 200}})
    assert configured_options(custom)["httpx-max-connections"] == 200
    with pytest.raises(ConfigError, match="unknown key 'aiohttp-limits'"):
        configured_options(Config(families={"lifespan": {"aiohttp-limits": 1}}))
    with pytest.raises(ConfigError, match="must be a positive integer"):
        configured_options(Config(families={"lifespan": {"aiohttp-limit": "100"}}))
    with pytest.raises(ConfigError, match="must be a positive integer"):
        configured_options(Config(families={"lifespan": {"aiohttp-limit": True}}))


def _limits(table: Mapping[str, object], kind: str) -> dict[str, int]:
    return pool_limits(Config(families={"lifespan": table}), kind)


def test_pool_limits_come_only_from_the_configuration() -> None:
    assert _limits({}, "aiohttp") == {} and _limits({}, "httpx") == {}
    # The seed article's values: aiohttp's limit=100 is its default, not written.
    seed = {
        "aiohttp-limit": 100,
        "aiohttp-limit-per-host": 20,
        "aiohttp-ttl-dns-cache": 300,
        "httpx-max-connections": 100,
        "httpx-max-keepalive-connections": 20,
    }
    assert _limits(seed, "aiohttp") == {"limit_per_host": 20, "ttl_dns_cache": 300}
    # httpx's are its defaults: a Limits(100, 20) would be a hunk that changes nothing.
    assert _limits(seed, "httpx") == {}
    # A keyword left out of httpx.Limits() means no limit: each value is spelled out.
    assert _limits({"httpx-max-keepalive-connections": 50}, "httpx") == {
        "max_connections": 100,
        "max_keepalive_connections": 50,
    }
    assert _limits({"aiohttp-limit": 50}, "aiohttp") == {"limit": 50}


PLANNED_APP = """\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def connect():
    ...


app.router.add_event_handler("shutdown", connect)
"""


def _plan_for(tmp_path: Path, source: str) -> dict[str, Any]:
    path = tmp_path / "main.py"
    path.write_text(source)
    index = ProjectIndex([SourceFile(path, "main.py")])
    return compute_plan(index, Config())["main.py"]


def test_the_plan_finds_its_sites_after_earlier_rewrites_moved_them(tmp_path: Path) -> None:
    # Codemods of other families may run first and shift lines: sites are keyed by what
    # they say, not where they are.
    entry = _plan_for(tmp_path, PLANNED_APP)
    shifted = cst.parse_module("import asyncio\nimport orjson\n\n" + PLANNED_APP)
    new, problem, sites = apply_on_event(shifted, entry, CodemodContext())
    assert problem is None and [s.reason for s in sites] == [None, None]
    assert "on_event" not in new.code and "add_event_handler" not in new.code
    assert (
        "    await connect()\n    try:\n        yield\n    finally:\n        await connect()\n"
        in (new.code)
    )


def test_a_plan_for_other_bytes_is_not_applied(tmp_path: Path) -> None:
    # The driver's verifying second run passes the plan of the original bytes along.
    entry = _plan_for(tmp_path, PLANNED_APP)
    changed = cst.parse_module(PLANNED_APP.replace("async def connect", "def connect"))
    context = CodemodContext()
    _, problem, _ = apply_on_event(changed, entry, context)
    assert problem is None  # the keys still match: the same sites
    config = Config(select=("AF301",))
    run = FileRun("main.py", changed, config, frozenset({"AF301"}), {})
    run.plans = {OnEventToLifespan.NAME: entry}
    assert OnEventToLifespan(context, run).transform(changed) is changed


SCANNED = [
    "from fastapi import APIRouter\nrouter = APIRouter(prefix='/items')\n",
    "import fastapi\napp = fastapi.FastAPI()\nother = make()\n",
    "# 路由\nfrom fastapi import APIRouter as R\napi = R()\n",  # non-ASCII bytes
    "from fastapi import FastAPI\nif True:\n    app = FastAPI()\n",  # in a block: no owner
    "from fastapi import FastAPI\napp = FastAPI()\napp = wrap(app)\n",
    "from fastapi import FastAPI\na = b = FastAPI()\n",
    "x = 1\n",
]


def _indexed(tmp_path: Path, source: str) -> tuple[ModuleInfo, bytes]:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    data = path.read_bytes()
    info = index_module(SourceFile(path, "m.py"), data)
    assert info is not None
    forget()  # its tree is gone: reading it again would parse
    return info, data


def _scanned(module: tuple[ModuleInfo, bytes]) -> Facts:
    facts = Facts()
    scan_module(module[0], facts, module[1])
    return facts


def _owners(facts: Facts) -> dict[str, tuple[str, str, int]]:
    return {q: (o.kind, o.var, o.line) for q, o in facts.owners.items()}


@pytest.mark.parametrize("source", SCANNED)
def test_the_scan_takes_apps_and_routers_from_the_index_without_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # The same module with `on_startup` in a comment is read from its tree.
    from_tree = _scanned(_indexed(tmp_path, source + "# on_startup\n"))
    indexed = _indexed(tmp_path, source)
    monkeypatch.setattr(syntax, "parse", _no_parse)
    from_index = _scanned(indexed)
    assert _owners(from_index) == _owners(from_tree)
    assert from_index.events == from_tree.events == {"m.py": []}


def _no_parse(*args: object, **kwargs: object) -> None:
    raise AssertionError("parsed the tree again")


def test_the_scan_reads_event_names_as_python_does(tmp_path: Path) -> None:
    # In fullwidth letters, which Python reads as `app.on_event` (identifiers are NFKC).
    on_event = "".join(chr(ord(c) + 0xFEE0) for c in "on_event")
    source = (
        "from fastapi import FastAPI\napp = FastAPI()\n\n"
        f'@app.{on_event}("startup")\nasync def connect():\n    pass\n'
    )
    facts = _scanned(_indexed(tmp_path, source))
    assert _owners(facts) == {"m.app": ("app", "app", 2)}
    [event] = facts.events["m.py"]
    assert isinstance(event, Registration)
    assert (event.owner, event.event, event.handler) == ("m.app", "startup", "m.connect")


@pytest.mark.parametrize(
    ("source", "may"),
    [
        ("async with httpx.AsyncClient() as c: ...\n", True),
        ("# 客户端\nasync with session() as c: ...\n", False),  # non-ASCII, no client
        ("# 客户端\nasync with httpx.AsyncClient() as c: ...\n", True),
        ("client = httpx.AsyncClient()\n", False),  # no `async with`
        ("(async \\\n with httpx.AsyncClient() as c): ...\n", True),
        ("xasync with httpx.AsyncClient(): ...\n", False),  # `async` a whole word only
        ("async with_ = httpx.AsyncClient()\n", False),
    ],
)
def test_per_call_clients_are_looked_for_only_where_the_source_may_open_one(
    source: str, may: bool
) -> None:
    assert may_open_client(source.encode()) is may
