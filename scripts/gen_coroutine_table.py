"""Generate asyncfix/data/coroutines.py: which library methods return a coroutine.

Dev-time only: this script imports the async libraries to introspect them. asyncfix itself
never imports them (nor the user's code); it reads the generated, committed table.

    pip install sqlalchemy httpx httpx2 aiohttp asyncpg redis motor pymongo sqlmodel \
        aiofiles aiosqlite beanie
    python scripts/gen_coroutine_table.py && ruff format asyncfix/data/coroutines.py
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import pprint
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "asyncfix" / "data" / "coroutines.py"

# Canonical (documented) import path of each class.
CLASSES = [
    "asyncio.Barrier",
    "asyncio.BoundedSemaphore",
    "asyncio.Condition",
    "asyncio.Event",
    "asyncio.LifoQueue",
    "asyncio.Lock",
    "asyncio.PriorityQueue",
    "asyncio.Queue",
    "asyncio.Semaphore",
    "asyncio.Server",
    "asyncio.StreamReader",
    "asyncio.StreamWriter",
    "asyncio.subprocess.Process",
    "aiofiles.threadpool.binary.AsyncBufferedIOBase",
    "aiofiles.threadpool.binary.AsyncBufferedReader",
    "aiofiles.threadpool.binary.AsyncFileIO",
    "aiofiles.threadpool.text.AsyncTextIOWrapper",
    "aiohttp.ClientResponse",
    "aiohttp.ClientSession",
    "aiohttp.ClientWebSocketResponse",
    "aiosqlite.Connection",
    "aiosqlite.Cursor",
    "asyncpg.Connection",
    "asyncpg.Pool",
    "asyncpg.transaction.Transaction",
    "httpx.AsyncClient",
    "httpx.Response",
    "httpx2.AsyncClient",
    "httpx2.Response",
    "motor.motor_asyncio.AsyncIOMotorClient",
    "motor.motor_asyncio.AsyncIOMotorCollection",
    "motor.motor_asyncio.AsyncIOMotorCursor",
    "motor.motor_asyncio.AsyncIOMotorDatabase",
    "pymongo.AsyncMongoClient",
    "pymongo.asynchronous.collection.AsyncCollection",
    "pymongo.asynchronous.command_cursor.AsyncCommandCursor",
    "pymongo.asynchronous.cursor.AsyncCursor",
    "pymongo.asynchronous.database.AsyncDatabase",
    "redis.asyncio.Redis",
    "redis.asyncio.client.Pipeline",
    "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.AsyncMappingResult",
    "sqlalchemy.ext.asyncio.AsyncResult",
    "sqlalchemy.ext.asyncio.AsyncScalarResult",
    "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.AsyncTransaction",
    "sqlalchemy.ext.asyncio.async_scoped_session",
    "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlmodel.ext.asyncio.session.AsyncSession",
]

# Classes a project subclasses (a beanie Document): their methods are typed only on the
# project's subclasses (ITERATES_SELF, constructors), apart from CLASSES, whose method names
# other rules read as "a coroutine method somewhere".
SUBCLASSED = ["beanie.Document"]

# Modules whose coroutine functions users call directly.
FUNCTION_MODULES = ["asyncio", "aiofiles.os", "asyncpg", "aiosqlite"]

# Other public modules to search for aliases of the classes above.
ALIAS_MODULES = [
    "aiohttp.client",
    "aiohttp.client_reqrep",
    "aiohttp.client_ws",
    "aiosqlite.core",
    "aiosqlite.cursor",
    "asyncio.locks",
    "asyncio.queues",
    "asyncio.streams",
    "asyncpg.connection",
    "asyncpg.pool",
    "beanie.odm.documents",
    "httpx._client",
    "httpx._models",
    "pymongo.asynchronous.collection",
    "pymongo.asynchronous.database",
    "pymongo.asynchronous.mongo_client",
    "redis.asyncio.client",
    "sqlalchemy.ext.asyncio.engine",
    "sqlalchemy.ext.asyncio.result",
    "sqlalchemy.ext.asyncio.scoping",
    "sqlalchemy.ext.asyncio.session",
]

# What `async with <expr> as x` binds x to, where it is not what the library annotates in a
# way we can read statically: "Class" means `async with Class(...)`, "Class.method" means
# `async with obj.method(...)`, "Class()" means `async with obj(...)` (a factory instance).
ENTERS = {
    # Text or binary by mode; their I/O methods (read, write, ...) are coroutines in both.
    "aiofiles.open": "aiofiles.threadpool.text.AsyncTextIOWrapper",
    "aiohttp.ClientSession": "aiohttp.ClientSession",
    "aiohttp.ClientSession.delete": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.get": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.head": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.patch": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.post": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.put": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.request": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.ws_connect": "aiohttp.ClientWebSocketResponse",
    "aiosqlite.Connection.execute": "aiosqlite.Cursor",
    "asyncpg.Pool.acquire": "asyncpg.Connection",
    "httpx.AsyncClient": "httpx.AsyncClient",
    "httpx.AsyncClient.stream": "httpx.Response",
    "httpx2.AsyncClient": "httpx2.AsyncClient",
    "httpx2.AsyncClient.stream": "httpx2.Response",
    "pymongo.AsyncMongoClient": "pymongo.AsyncMongoClient",
    "sqlalchemy.ext.asyncio.AsyncEngine.begin": "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.AsyncEngine.connect": "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlmodel.ext.asyncio.session.AsyncSession": "sqlmodel.ext.asyncio.session.AsyncSession",
    "sqlalchemy.ext.asyncio.async_sessionmaker()": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.async_sessionmaker.begin": "sqlalchemy.ext.asyncio.AsyncSession",
}

# What a plain call returns (not awaited): factories and constructors of other classes.
RETURNS = {
    "aiosqlite.connect": "aiosqlite.Connection",
    "motor.motor_asyncio.AsyncIOMotorClient.get_database": (
        "motor.motor_asyncio.AsyncIOMotorDatabase"
    ),
    "motor.motor_asyncio.AsyncIOMotorClient.get_default_database": (
        "motor.motor_asyncio.AsyncIOMotorDatabase"
    ),
    "motor.motor_asyncio.AsyncIOMotorDatabase.get_collection": (
        "motor.motor_asyncio.AsyncIOMotorCollection"
    ),
    "pymongo.AsyncMongoClient.get_database": "pymongo.asynchronous.database.AsyncDatabase",
    "pymongo.AsyncMongoClient.get_default_database": (
        "pymongo.asynchronous.database.AsyncDatabase"
    ),
    "pymongo.asynchronous.database.AsyncDatabase.get_collection": (
        "pymongo.asynchronous.collection.AsyncCollection"
    ),
    "redis.asyncio.from_url": "redis.asyncio.Redis",
    "redis.asyncio.Redis.from_url": "redis.asyncio.Redis",
    "redis.asyncio.Redis.pipeline": "redis.asyncio.client.Pipeline",
    "sqlalchemy.ext.asyncio.async_sessionmaker()": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.create_async_engine": "sqlalchemy.ext.asyncio.AsyncEngine",
}

# What an awaited call returns, for chains such as `conn = await asyncpg.connect(...)`.
AWAITS_TO = {
    "asyncio.create_subprocess_exec": "asyncio.subprocess.Process",
    "asyncio.create_subprocess_shell": "asyncio.subprocess.Process",
    "aiohttp.ClientSession.get": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.post": "aiohttp.ClientResponse",
    "aiohttp.ClientSession.request": "aiohttp.ClientResponse",
    "asyncpg.Pool.acquire": "asyncpg.Connection",
    "asyncpg.connect": "asyncpg.Connection",
    "asyncpg.create_pool": "asyncpg.Pool",
    "httpx.AsyncClient.delete": "httpx.Response",
    "httpx.AsyncClient.get": "httpx.Response",
    "httpx.AsyncClient.patch": "httpx.Response",
    "httpx.AsyncClient.post": "httpx.Response",
    "httpx.AsyncClient.put": "httpx.Response",
    "httpx.AsyncClient.request": "httpx.Response",
    "httpx.AsyncClient.send": "httpx.Response",
    "httpx2.AsyncClient.delete": "httpx2.Response",
    "httpx2.AsyncClient.get": "httpx2.Response",
    "httpx2.AsyncClient.patch": "httpx2.Response",
    "httpx2.AsyncClient.post": "httpx2.Response",
    "httpx2.AsyncClient.put": "httpx2.Response",
    "httpx2.AsyncClient.request": "httpx2.Response",
    "httpx2.AsyncClient.send": "httpx2.Response",
    "sqlalchemy.ext.asyncio.AsyncConnection.execute": "sqlalchemy.engine.Result",
    "sqlalchemy.ext.asyncio.AsyncConnection.stream": "sqlalchemy.ext.asyncio.AsyncResult",
    "sqlalchemy.ext.asyncio.AsyncSession.stream": "sqlalchemy.ext.asyncio.AsyncResult",
    "sqlalchemy.ext.asyncio.AsyncSession.stream_scalars": (
        "sqlalchemy.ext.asyncio.AsyncScalarResult"
    ),
}


# `obj.name` and `obj[name]` on these classes (by their __getattr__ and __getitem__): a
# database of a client, a collection of a database, a sub-collection of a collection.
ITEMS = {
    "motor.motor_asyncio.AsyncIOMotorClient": "motor.motor_asyncio.AsyncIOMotorDatabase",
    "motor.motor_asyncio.AsyncIOMotorCollection": "motor.motor_asyncio.AsyncIOMotorCollection",
    "motor.motor_asyncio.AsyncIOMotorDatabase": "motor.motor_asyncio.AsyncIOMotorCollection",
    "pymongo.AsyncMongoClient": "pymongo.asynchronous.database.AsyncDatabase",
    "pymongo.asynchronous.collection.AsyncCollection": (
        "pymongo.asynchronous.collection.AsyncCollection"
    ),
    "pymongo.asynchronous.database.AsyncDatabase": (
        "pymongo.asynchronous.collection.AsyncCollection"
    ),
}


# Class methods whose result, iterated with `async for`, gives instances of the class they
# are called on (a project subclass: `async for feed in Feed.find_all()`). The value says
# whether positional arguments are filters; find_all's fourth is a projection model, and
# `projection_model=` makes every one of them give instances of another class.
ITERATES_SELF = {
    "beanie.Document.find": True,
    "beanie.Document.find_all": False,
    "beanie.Document.find_many": True,
}


def _load(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _redis_command(cls: type, name: str, fn: Any) -> bool:
    # redis.asyncio shares its command methods with the sync client: plain `def`s that
    # return `self.execute_command(...)`, which is a coroutine function in redis.asyncio.
    if not inspect.iscoroutinefunction(getattr(cls, "execute_command", None)):
        return False
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    return "return self.execute_command(" in source and "redis.commands" in fn.__module__


def _returns_own_coroutine(cls: type, fn: Any) -> bool:
    # beanie's `set`, `inc` and `current_date` are plain `def`s that
    # `return self.update(...)`, a coroutine method of the same class.
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    return any(
        f"return self.{name}(" in source
        for name in dir(cls)
        if not name.startswith("_")
        and inspect.iscoroutinefunction(getattr(cls, name, None))
        and f"self.{name}(" in source
    )


def _motor_futures(cls: type) -> set[str]:
    # Motor wraps PyMongo: its I/O methods return an asyncio Future, not a coroutine.
    import motor.core
    import motor.metaprogramming

    agnostic = {
        "AsyncIOMotorClient": motor.core.AgnosticClient,
        "AsyncIOMotorDatabase": motor.core.AgnosticDatabase,
        "AsyncIOMotorCollection": motor.core.AgnosticCollection,
        "AsyncIOMotorCursor": motor.core.AgnosticCursor,
    }[cls.__name__]
    names: set[str] = set()
    for klass in agnostic.__mro__:
        for key, value in vars(klass).items():
            if isinstance(value, motor.metaprogramming.Async) and not key.startswith("_"):
                names.add(key)
    return names


def classify(dotted: str) -> dict[str, list[str]]:
    cls = _load(dotted)
    coroutines: set[str] = set()
    futures = _motor_futures(cls) if dotted.startswith("motor.") else set()
    sync: set[str] = set()
    for name in dir(cls):
        if name.startswith("_") or name in futures:
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, property):
            continue
        fn = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
        if not callable(fn) or isinstance(fn, type):
            continue
        redis_command = dotted.startswith("redis.asyncio.Redis") and _redis_command(cls, name, fn)
        beanie_update = dotted.startswith("beanie.") and _returns_own_coroutine(cls, fn)
        if inspect.iscoroutinefunction(fn) or redis_command or beanie_update:
            coroutines.add(name)
        else:
            sync.add(name)
    return {"coroutine": sorted(coroutines), "future": sorted(futures), "sync": sorted(sync)}


def functions() -> dict[str, str]:
    found: dict[str, str] = {}
    for module_name in FUNCTION_MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in dir(module) if n[0] != "_"]
        for name in names:
            fn = getattr(module, name, None)
            if inspect.iscoroutinefunction(fn):
                found[f"{module_name}.{name}"] = "coroutine"
    return dict(sorted(found.items()))


def aliases(classes: dict[str, Any]) -> dict[str, str]:
    by_object = {id(_load(c)): c for c in classes}
    found: dict[str, str] = {}
    for dotted in classes:
        obj = _load(dotted)
        real = f"{obj.__module__}.{obj.__qualname__}"
        if real != dotted:
            found[real] = dotted
    for module_name in ALIAS_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            canonical = by_object.get(id(value))
            if canonical is not None and f"{module_name}.{name}" != canonical:
                found[f"{module_name}.{name}"] = canonical
    return dict(sorted(found.items()))


def members(dotted: str) -> list[str]:
    """The class's own public attributes: `obj.name` is one of them, not an item."""
    cls = _load(dotted)
    if not callable(getattr(cls, "__getattr__", None)):
        raise SystemExit(f"{dotted} has no __getattr__: ITEMS is out of date")
    return sorted(n for n in dir(cls) if not n.startswith("_"))


def versions() -> dict[str, str]:
    dists = ["aiofiles", "aiohttp", "aiosqlite", "asyncpg", "httpx", "httpx2"]
    dists += ["beanie", "motor", "pymongo", "redis", "sqlmodel"]
    found = {d: importlib.metadata.version(d) for d in [*dists, "SQLAlchemy"]}
    found["python"] = ".".join(map(str, sys.version_info[:3]))
    return found


def main() -> None:
    classes = {c: classify(c) for c in CLASSES}
    subclassed = {c: classify(c) for c in SUBCLASSED}
    all_aliases = pprint.pformat(aliases(classes | subclassed), width=90)
    subclassed_text = pprint.pformat(subclassed, width=90)
    item_members = {c: members(c) for c in ITEMS}
    body = [
        "# ruff: noqa: E501  (generated data: long qualified names)",
        '"""Generated by scripts/gen_coroutine_table.py from the installed libraries; do not',
        "edit by hand. Which library callables return a coroutine (`coroutine`), an asyncio",
        "Future (`future`), or neither (`sync`, e.g. AsyncSession.add), so that asyncfix knows",
        'what a forgotten `await` is without importing anything at run time."""',
        "",
        "from typing import Final",
        "",
        f"VERSIONS: Final[dict[str, str]] = {pprint.pformat(versions(), width=90)}",
        "",
        "# class -> kind -> method names",
        f"CLASSES: Final[dict[str, dict[str, list[str]]]] = {pprint.pformat(classes, width=90)}",
        "",
        "# module-level coroutine functions",
        f"FUNCTIONS: Final[dict[str, str]] = {pprint.pformat(functions(), width=90)}",
        "",
        "# other import paths of the classes above -> the path used in CLASSES",
        f"ALIASES: Final[dict[str, str]] = {all_aliases}",
        "",
        "# `async with <Class(...) | obj.method(...) | factory()> as x`: the class of x",
        f"ENTERS: Final[dict[str, str]] = {pprint.pformat(ENTERS, width=90)}",
        "",
        "# the class of a plain call's result",
        f"RETURNS: Final[dict[str, str]] = {pprint.pformat(RETURNS, width=90)}",
        "",
        "# the class of an awaited call's result",
        f"AWAITS_TO: Final[dict[str, str]] = {pprint.pformat(AWAITS_TO, width=90)}",
        "",
        "# the class of `obj.name` and `obj[key]` (a database, a collection) by obj's class,",
        "# where `name` is not one of MEMBERS (the class's own attributes)",
        f"ITEMS: Final[dict[str, str]] = {pprint.pformat(ITEMS, width=90)}",
        "",
        f"MEMBERS: Final[dict[str, list[str]]] = {pprint.pformat(item_members, width=90)}",
        "",
        "# classes a project subclasses: class -> kind -> method names, as in CLASSES",
        f"SUBCLASSED: Final[dict[str, dict[str, list[str]]]] = {subclassed_text}",
        "",
        "# `async for x in Class.method(...)` gives instances of the (sub)class called on;",
        "# value: positional arguments are filters (see scripts/gen_coroutine_table.py)",
        f"ITERATES_SELF: Final[dict[str, bool]] = {pprint.pformat(ITERATES_SELF, width=90)}",
        "",
    ]
    OUT.parent.mkdir(exist_ok=True)
    init = OUT.parent / "__init__.py"
    if not init.exists():
        init.write_text('"""Data asyncfix ships: tables generated from library introspection."""\n')
    OUT.write_text("\n".join(body))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
