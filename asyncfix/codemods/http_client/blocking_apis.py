"""What blocks the event loop, and what replaces it: the call sites of each rule of the
family (its prescreen, its screen and its transform read them: see `sites`), and what
makes a project function block (AF205, the union of the others)."""

from __future__ import annotations

from collections.abc import Mapping

from asyncfix.codemods.http_client.sites import CallSites

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
# -- the file system (issue 24, item 5) -------------------------------------------------------
# As ruff's ASYNC230/ASYNC240 (open, os.path, pathlib.Path) and what aiofiles.os offers async
# versions of. A call whose work is done when it returns goes to a thread; one that hands back
# something lazy (a directory iterator, an open file) keeps blocking on every use: reported.
# Not among AF205's roots: an os.path.exists does not make a project helper a blocking one.
_AIOFILES_OS = ("remove", "unlink", "rename", "renames", "replace", "makedirs", "mkdir",
                "rmdir", "removedirs", "listdir", "stat", "lstat", "access", "link",
                "symlink", "readlink", "statvfs")  # fmt: skip
_OS_PATH = ("exists", "isfile", "isdir", "islink", "ismount", "getsize", "getmtime",
            "getatime", "getctime", "samefile")  # fmt: skip
_SHUTIL = ("copy", "copy2", "copyfile", "copytree", "move", "rmtree")
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
PATH_TO_THREAD = ("read_text", "write_text", "read_bytes", "write_bytes")

# The file-system queries: their answer is what a check-then-act acts on.
FS_QUERIES = frozenset(
    {f"os.path.{name}" for name in _OS_PATH}
    | {f"os.{name}" for name in ("stat", "lstat", "access", "listdir")}
)
# qualified name -> the async alternative the finding names ("" for none but a thread).
FS_TO_THREAD: Mapping[str, str] = {
    **{f"os.{name}": f"aiofiles.os.{name}" for name in _AIOFILES_OS},
    **{f"os.path.{name}": f"aiofiles.os.path.{name}" for name in _OS_PATH},
    **{f"shutil.{name}": "" for name in _SHUTIL},
    **{f"{cls}.{name}": "anyio.Path" for cls in sorted(PATH_CLASSES) for name in PATH_TO_THREAD},
}
# qualified name -> (the replacement, why the call alone is not the blocking part).
FS_FINDING_ONLY: Mapping[str, tuple[str, str]] = {
    "os.scandir": (
        "aiofiles.os.scandir, or asyncio.to_thread around the whole loop",
        "the iterator it returns reads the directory as it is iterated",
    ),
    "os.walk": (
        "asyncio.to_thread around the whole walk",
        "the generator it returns reads the directories as it is iterated",
    ),
    **{
        f"{cls}.open": (
            "aiofiles (or asyncio.to_thread around the whole read)",
            "the file object's reads and writes block too",
        )
        for cls in sorted(PATH_CLASSES)
    },
}
REQUEST_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
SESSION_MAKERS = frozenset({"requests.Session", "requests.session"})

# What AF204 looks for itself: the tables above and the file system's.
DIRECT_TO_THREAD: Mapping[str, str] = {**TO_THREAD, **FS_TO_THREAD}
DIRECT_FINDING_ONLY: Mapping[str, tuple[str, str]] = {**FINDING_ONLY, **FS_FINDING_ONLY}

SLEEP = CallSites(frozenset({"time.sleep"}))  # AF203
DIRECT = CallSites(frozenset({*DIRECT_TO_THREAD, *DIRECT_FINDING_ONLY}))  # AF204
# AF201 and AF202 (whose sessions' methods are reached through a variable).
REQUESTS = CallSites(frozenset({f"requests.{name}" for name in REQUEST_METHODS} | SESSION_MAKERS))
POPEN = CallSites(frozenset({"subprocess.Popen"}))  # AF207

# What makes a project function block, for AF205 (open() is left out: too common to flag;
# the file system's calls neither: an os.path.exists does not make a helper a blocking one).
BLOCKING_ROOTS: frozenset[str] = (
    SLEEP.qualnames | REQUESTS.qualnames | frozenset(TO_THREAD) | frozenset(FINDING_ONLY)
) - {"builtins.open"}
ROOT_TOKENS = (b"sleep", b"requests", b"subprocess", b"system", b"socket", b"urlopen", b"connect")
# A module's own names resolve under its name: `socket.py`'s getaddrinfo is socket's.
ROOT_MODULE_STEMS = frozenset(part for q in BLOCKING_ROOTS for part in q.split(".")[:-1])

# What only works on a thread running an event loop: a function calling one of these
# (directly or through others) raises RuntimeError in asyncio.to_thread's worker, so AF205
# reports it instead of offloading it.
LOOP_BOUND: frozenset[str] = frozenset(
    f"asyncio.{name}"
    for name in (
        "get_event_loop",
        "get_running_loop",
        "create_task",
        "ensure_future",
        "gather",
        "current_task",
        "all_tasks",
        "Future",
        "wrap_future",
    )
)
