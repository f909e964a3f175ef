"""What the db_session family matches, written once: the qualified names its rules
resolve, the method and callee names its shapes start from, and the byte triggers made of
them. The stdlib-ast screens (`screen`), the plans (`plan`) and the libcst passes all read
this module; it imports no libcst, so the screens run before libcst is loaded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Kind = Literal["sync", "async"]  # of a session, a factory, a `with`

# The codemods' names, the keys of their plans (`SourceView.plans`).
SESSION_PASS = "db-session"  # AF401-AF403
SYNC_PASS = "db-sync-session-in-async"  # AF404

# Qualified names as libcst resolves them from the imports a file writes (the plans and
# screens resolve the same names on the stdlib ast).
SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
ASYNC_SESSIONMAKERS = frozenset(
    {
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)
SYNC_SESSIONS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
    }
)
ASYNC_SESSIONS = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
CREATE_ENGINE = frozenset({"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"})
SQLMODEL_CREATE_ENGINE = frozenset({"sqlmodel.create_engine"})
DEPENDS = frozenset({"fastapi.Depends", "fastapi.param_functions.Depends"})
# The packages whose imports make a name that says "session" a database session (AF401),
# and the libraries whose "sessions" are not (asyncfix's HTTP clients).
SQL_LIBRARIES = ("sqlalchemy", "sqlmodel")
OTHER_SESSIONS = frozenset({"aiohttp", "httpx", "httpx2", "requests"})
SESSION_WORD = "session"  # in a callee's code, lowercased: evidence of a session factory

# The methods the shapes start from: `db.close()` (AF401), `tasks.add_task(f, db)` (AF403),
# `Factory.begin()` (already a transactional scope), `Base.metadata.create_all()` (AF404).
CLOSE = "close"
ADD_TASK = "add_task"
BEGIN = "begin"
CREATE_ALL = "create_all"
METADATA = "metadata"

# Callees under which FastAPI calls the function passed to them (as a dependency, or as a
# path operation): a plain def there runs in the thread pool, as the async def ran on the
# loop. Any other use may await it.
FRAMEWORK_CALLEES = frozenset({"Depends", "Security", "add_api_route"})
DEPENDENCY_CALLEES = frozenset({"Depends", "Security"})


def tails_of(qualified: Iterable[str]) -> frozenset[str]:
    """How the names may end when written (`sessionmaker` for `sqlalchemy.orm.sessionmaker`)."""
    return frozenset(q.rpartition(".")[2] for q in qualified)


MAKER_TAILS = tails_of(SESSIONMAKERS | ASYNC_SESSIONMAKERS)
SESSION_TAILS = tails_of(SYNC_SESSIONS | ASYNC_SESSIONS)
SYNC_TAILS = tails_of(SYNC_SESSIONS | CREATE_ENGINE | SQLMODEL_CREATE_ENGINE | SESSIONMAKERS)
DEPENDS_TAILS = tails_of(DEPENDS)
# The packages those names come from: a module-level binding of one of these names (a
# class `sqlalchemy`...) gives local names the same qualified names.
HEADS = frozenset(
    q.partition(".")[0]
    for q in SESSIONMAKERS | ASYNC_SESSIONMAKERS | SYNC_SESSIONS | ASYNC_SESSIONS | DEPENDS
)

# -- the bytes: tokens a site's source must hold ---------------------------------------------

# In every maker tail (`sessionmaker`, `async_sessionmaker`).
MAKER_TOKEN = b"essionmaker"
# In `Session`, `session`, `AsyncSession` and every maker: every AF401-AF403 site names one.
SESSION_TOKEN = b"ession"
YIELD_TOKEN = b"yield"
# What the AF401-AF403 pass starts from: a `yield name`, a close()/add_task() call, a
# sessionmaker. A file without one is left alone, even with a session opened by hand.
START_METHODS = frozenset({CLOSE, ADD_TASK}) | MAKER_TAILS
START_TOKENS = (YIELD_TOKEN, CLOSE.encode(), ADD_TASK.encode(), MAKER_TOKEN)
# AF404: a sync Session, engine or factory named, or a `metadata.create_all()`.
SYNC_TOKENS = tuple(tail.encode() for tail in (*sorted(SYNC_TAILS), CREATE_ALL))
