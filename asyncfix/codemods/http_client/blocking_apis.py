"""What blocks the event loop, and what replaces it: the qualified names AF204 and AF205
look for (their screens, their plan and their transform all read these tables)."""

from __future__ import annotations

from collections.abc import Mapping

# Calls that may run in a worker thread as they are: `await asyncio.to_thread(fn, ...)`,
# with the async API named for those who want to go further.
TO_THREAD: Mapping[str, str] = {
    "subprocess.run": "asyncio.create_subprocess_exec",
    "subprocess.call": "asyncio.create_subprocess_exec",
    "subprocess.check_call": "asyncio.create_subprocess_exec",
    "subprocess.check_output": "asyncio.create_subprocess_exec",
    "os.system": "asyncio.create_subprocess_shell",
    "socket.gethostbyname": "loop.getaddrinfo()",
    "socket.getaddrinfo": "loop.getaddrinfo()",
}
# Calls whose result keeps blocking afterwards: moving only the call to a thread would hide
# the problem, so they are findings that name the async replacement.
FINDING_ONLY: Mapping[str, tuple[str, str]] = {
    "urllib.request.urlopen": (
        "an async HTTP client (httpx2, aiohttp)",
        "the response it returns blocks on every read too",
    ),
    "socket.create_connection": (
        "asyncio.open_connection",
        "the socket it returns blocks on every send and recv too",
    ),
    "psycopg2.connect": ("asyncpg", "the connection's cursor calls block too"),
    "sqlite3.connect": ("aiosqlite", "the connection's cursor calls block too"),
    "pymysql.connect": ("aiomysql", "the connection's cursor calls block too"),
    "mysql.connector.connect": ("aiomysql", "the connection's cursor calls block too"),
    "builtins.open": (
        "aiofiles (or asyncio.to_thread around the whole read)",
        "the file object's reads and writes block too",
    ),
}
REQUEST_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
# What makes a project function block, for AF205 (open() is left out: too common to flag).
BLOCKING_ROOTS: frozenset[str] = frozenset(
    {"time.sleep", "requests.Session", "requests.session"}
    | {f"requests.{name}" for name in REQUEST_METHODS}
    | set(TO_THREAD)
    | (set(FINDING_ONLY) - {"builtins.open"})
)
ROOT_TOKENS = (b"sleep", b"requests", b"subprocess", b"system", b"socket", b"urlopen", b"connect")

DIRECT = frozenset({*TO_THREAD, *FINDING_ONLY})
# A module's own names resolve under its name: `socket.py`'s getaddrinfo is socket's.
ROOT_MODULE_STEMS = frozenset(part for q in BLOCKING_ROOTS for part in q.split(".")[:-1])

# The names a call of requests (or of a session) is spelt with, as screen() looks for them.
REQUESTS_CALLED = frozenset({*REQUEST_METHODS, "Session", "session"})
