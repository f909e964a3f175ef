"""Profile-guided ranking: what a real profile says each finding costs (issue 27).

Independent of the codemods: it reads profiles (py-spy speedscope or raw collapsed
stacks, an asyncio debug log), maps their paths onto the project's files, and ranks
findings by the share of the event loop's time spent in their statement and function.
Hot blocking frames and slow coroutines that no finding explains become findings of their
own (AF701, AF702): "no rule covers this yet". Project files are read, never imported.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from asyncfix.report import Finding

if TYPE_CHECKING:
    from asyncfix.codemods.base import AsyncfixCodemod, Rule

FAMILY = "profile"
HOT_BLOCKING, SLOW_COROUTINE = "AF701", "AF702"
NO_RULE = "no rule covers this yet"
# A blocking frame becomes an AF701 finding from this share of the loop's samples on: a
# stray sample (py-spy may catch a stack mid-switch) is no hot frame.
HOT_MIN = 0.01


class ProfileError(Exception):
    """A profile that cannot be read or whose format is not recognised."""


@dataclass(frozen=True)
class Frame:
    function: str
    file: str  # as the profile spells it (a container path, a shortened one, ...)
    line: int


@dataclass
class Profile:
    """Stacks (root first) with their weights, or slow coroutine steps from a log."""

    source: str
    kind: str  # "speedscope", "raw" or "asyncio-log"
    stacks: list[tuple[tuple[Frame, ...], float]] = field(default_factory=list)
    # asyncio debug log: (coroutine name, file, line, seconds) of each slow step.
    slow: list[tuple[str, str, int, float]] = field(default_factory=list)


# -- parsers, one per format; the format is told from the content ----------------------------

_RAW_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*):(?P<line>\d+)\)$")
_RAW_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
# "Executing <Task pending name='Task-5' coro=<get_order() running at /app/app/main.py:70>
# wait_for=...> took 0.512 seconds"
_SLOW = re.compile(r"Executing <(?P<what>.*) took (?P<seconds>\d+(?:\.\d+)?) seconds")
_CORO = re.compile(
    r"coro=<(?P<coro>[\w.<>]+)\(\) (?:running|done, defined) at "
    r"(?P<file>[^>]*?):(?P<line>\d+)>"
)


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _speedscope(text, source)
    if "Executing <" in text and " took " in text:
        return _asyncio_log(text, source)
    if _RAW_LINE.match(stripped.split("\n", 1)[0].rstrip()) and "(" in stripped:
        return _raw(text, source)
    raise ProfileError(
        f"{source}: not a py-spy speedscope or raw profile, nor an asyncio debug log "
        "with slow-callback lines"
    )


def load_profile(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ProfileError(f"{path}: {exc.strerror or exc}") from exc
    return parse_profile(text, str(path))


def _speedscope(text: str, source: str) -> Profile:
    try:
        doc = json.loads(text)
        frames = [
            Frame(str(f.get("name", "?")), str(f.get("file") or "?"), int(f.get("line") or 0))
            for f in doc["shared"]["frames"]
        ]
        profile = Profile(source, "speedscope")
        for part in doc["profiles"]:
            if part.get("type") != "sampled":
                continue  # "evented" profiles are not what py-spy writes
            weights = part.get("weights") or [1.0] * len(part["samples"])
            for sample, weight in zip(part["samples"], weights, strict=False):
                profile.stacks.append((tuple(frames[i] for i in sample), float(weight)))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ProfileError(f"{source}: not a speedscope profile ({exc})") from exc
    return profile


def _raw(text: str, source: str) -> Profile:
    profile = Profile(source, "raw")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _RAW_LINE.match(line.rstrip())
        if match is None:
            raise ProfileError(f"{source}:{number}: not a collapsed stack line")
        frames = []
        for part in match["stack"].split(";"):
            frame = _RAW_FRAME.match(part)
            if frame is not None:  # `process ...`/`thread ...` heads carry no file
                frames.append(Frame(frame["function"], frame["file"], int(frame["line"])))
        profile.stacks.append((tuple(frames), float(match["count"])))
    return profile


def _asyncio_log(text: str, source: str) -> Profile:
    profile = Profile(source, "asyncio-log")
    for match in _SLOW.finditer(text):
        seconds = float(match["seconds"])
        coro = _CORO.search(match["what"])
        if coro is None:
            profile.slow.append(("", "", 0, seconds))  # a callback that names no coroutine
        else:
            profile.slow.append((coro["coro"], coro["file"], int(coro["line"]), seconds))
    if not profile.slow:
        raise ProfileError(f"{source}: no slow-callback lines (`Executing <...> took`)")
    return profile


# -- what runs on the event loop's thread, and what is known to block -------------------------

# A stack holding one of these frames is the event loop's thread (a to_thread worker's
# stack starts in concurrent/futures/thread.py instead).
_LOOP_FRAMES = (
    ("asyncio/base_events.py", "_run_once"),
    ("asyncio/events.py", "_run"),
    ("uvloop/__init__.py", "run"),
)
# The loop waiting for I/O: not a cost of any code.
_IDLE_LEAVES = (("selectors.py", "select"),)

# Leaf frames known to block (file suffix, function name, what it is): the shipped table.
BLOCKING_LEAVES: tuple[tuple[str, str, str], ...] = (
    ("socket.py", "readinto", "a socket read"),
    ("socket.py", "create_connection", "a socket connect"),
    ("socket.py", "getaddrinfo", "a DNS lookup"),
    ("socket.py", "sendall", "a socket write"),
    ("ssl.py", "read", "an SSL read"),
    ("ssl.py", "recv_into", "an SSL read"),
    ("ssl.py", "do_handshake", "an SSL handshake"),
    ("ssl.py", "sendall", "an SSL write"),
    ("http/client.py", "_read_status", "an HTTP response read"),
    ("json/encoder.py", "iterencode", "json encoding"),
    ("json/encoder.py", "encode", "json encoding"),
    ("json/decoder.py", "raw_decode", "json decoding"),
    ("subprocess.py", "wait", "a subprocess wait"),
    ("subprocess.py", "_wait", "a subprocess wait"),
    ("subprocess.py", "communicate", "a subprocess wait"),
    ("subprocess.py", "_communicate", "a subprocess wait"),
    ("subprocess.py", "_try_wait", "a subprocess wait"),
    ("sqlalchemy/engine/default.py", "do_execute", "a sync database query"),
    ("sqlalchemy/engine/default.py", "do_commit", "a sync database commit"),
    ("psycopg2/extras.py", "execute", "a sync database query"),
    ("pymysql/connections.py", "_read_bytes", "a sync database read"),
    ("redis/connection.py", "read_response", "a sync Redis read"),
    ("shutil.py", "copyfileobj", "file I/O"),
    ("pathlib.py", "read_text", "file I/O"),
    ("pathlib.py", "read_bytes", "file I/O"),
    ("pathlib.py", "write_text", "file I/O"),
    ("pathlib.py", "write_bytes", "file I/O"),
)
# Blocking calls implemented in C have no frame of their own: the leaf is the Python line
# that calls them, recognised from its source text.
_BLOCKING_CALLS = re.compile(
    r"\b(?:(?P<sleep>time\.sleep)|(?P<file>open|os\.read|os\.write|os\.fsync)"
    r"|(?P<json>json\.dumps|json\.loads|json\.dump|json\.load))\("
)
_CALL_KINDS = {"sleep": "time.sleep", "file": "file I/O", "json": "json encoding"}


def _frame_file(frame: Frame) -> str:
    return frame.file.replace("\\", "/")


def _is(frame: Frame, suffix: str, function: str) -> bool:
    name = frame.function.rsplit(".", 1)[-1]  # py-spy writes `Class.method`
    return name == function and _frame_file(frame).endswith(suffix)


def _on_loop(stack: Sequence[Frame]) -> bool:
    return any(_is(f, suffix, name) for f in stack for suffix, name in _LOOP_FRAMES)


def _idle(stack: Sequence[Frame]) -> bool:
    return bool(stack) and any(_is(stack[-1], s, n) for s, n in _IDLE_LEAVES)


def blocking_leaf(stack: Sequence[Frame], line_text: str = "") -> str | None:
    """What the stack's leaf is known to block on, or None. `line_text`: the source of the
    leaf's line, when the leaf is the project's own code (a C-level call has no frame)."""
    if not stack:
        return None
    leaf = stack[-1]
    for suffix, function, what in BLOCKING_LEAVES:
        if _is(leaf, suffix, function):
            return what
    match = _BLOCKING_CALLS.search(line_text)
    if match is not None and match.lastgroup is not None:
        return _CALL_KINDS[match.lastgroup]
    return None


# -- the project's files, and profile paths onto them -----------------------------------------


@dataclass
class SourceMap:
    """The project's files as findings name them (display paths), found from profile paths.

    A profile path under `root` (the profile's prefix for the project, such as `/app`) is
    taken relative to it; otherwise the project file with the longest common path suffix
    (at least the file name and its directory, or the name alone when only one file has it)
    is the one meant: container paths, shortened py-spy paths and the checkout agree there.
    """

    files: Mapping[str, Path]  # display path -> path on disk
    root: str | None = None
    base: Path = field(default_factory=Path.cwd)
    _found: dict[str, str | None] = field(default_factory=dict)
    _by_name: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    _scopes: dict[str, _Scopes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for display, path in self.files.items():
            parts = tuple(path.resolve().parts)
            self._by_name.setdefault(parts[-1], []).append((display, parts))

    def display(self, profile_path: str) -> str | None:
        if profile_path not in self._found:
            self._found[profile_path] = self._lookup(profile_path)
        return self._found[profile_path]

    def _lookup(self, profile_path: str) -> str | None:
        posix = PurePosixPath(profile_path.replace("\\", "/"))
        if self.root is not None:
            root = PurePosixPath(self.root.replace("\\", "/"))
            if not posix.is_relative_to(root):
                return None
            wanted = (self.base / posix.relative_to(root)).resolve().parts
            return next(
                (d for d, parts in self._by_name.get(posix.name, []) if parts == wanted), None
            )
        candidates = self._by_name.get(posix.name, [])
        best, best_len, tie = None, 0, False
        for display, parts in candidates:
            common = 0
            for mine, theirs in zip(reversed(parts), reversed(posix.parts), strict=False):
                if mine != theirs:
                    break
                common += 1
            if common > best_len:
                best, best_len, tie = display, common, False
            elif common == best_len:
                tie = True
        if best is None or tie or (best_len < 2 and len(candidates) > 1):
            return None
        if best_len < 2 and len(posix.parts) > 1 and not posix.is_absolute():
            return None  # `json/encoder.py` is not the project's `encoder.py`
        return best

    def scopes(self, display: str) -> _Scopes:
        if display not in self._scopes:
            self._scopes[display] = _Scopes.of(self.files[display])
        return self._scopes[display]


@dataclass
class _Scopes:
    """A file's statements and functions as line ranges, from the stdlib ast."""

    lines: list[str]
    statements: list[tuple[int, int, int]]  # (first, last, column) of each simple statement
    functions: list[tuple[int, int, str]]  # (first, last, name)

    @classmethod
    def of(cls, path: Path) -> _Scopes:
        try:
            source = path.read_bytes()
            tree = ast.parse(source)
        except (OSError, SyntaxError, ValueError, RecursionError):
            return cls([], [], [])
        statements, functions = [], []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                functions.append((first, node.end_lineno or node.lineno, node.name))
            elif isinstance(node, ast.stmt) and not isinstance(node, _COMPOUND):
                statements.append((node.lineno, node.end_lineno or node.lineno, node.col_offset))
        text = source.decode("utf-8", "replace").splitlines()
        return cls(text, statements, functions)

    def statement(self, line: int) -> tuple[int, int, int]:
        # The innermost statement: the one with the shortest span that holds the line.
        holding = [s for s in self.statements if s[0] <= line <= s[1]]
        return min(holding, key=lambda s: s[1] - s[0]) if holding else (line, line, 0)

    def function(self, line: int) -> tuple[int, int, str] | None:
        holding = [f for f in self.functions if f[0] <= line <= f[1]]
        return min(holding, key=lambda f: f[1] - f[0]) if holding else None

    def text(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first - 1 : last])


_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Match,
)


# -- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A finding's cost: the fraction of the event loop's profiled time in its statement
    (None when only a debug log was given: it names coroutines, not statements) and in
    its function."""

    statement: float | None
    function: float | None
    function_name: str = ""

    @property
    def key(self) -> float:
        return self.statement if self.statement is not None else (self.function or 0.0)

    def format(self) -> str:
        head = f"{self.statement:.1%}" if self.statement is not None else "   -"
        if self.function is None:
            return f"{head:>6}"
        return f"{head:>6} ({self.function_name or 'function'} {self.function:.1%})"

    def as_json(self) -> dict[str, Any]:
        return {
            "share": self.statement,
            "function_share": self.function,
            "function": self.function_name,
        }


@dataclass
class _Tally:
    statements: defaultdict[tuple[str, int], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    functions: defaultdict[tuple[str, int], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    total: float = 0.0
    sampled: bool = True  # stacks, not a debug log's coroutine steps
    # (display, statement line) -> (weight, what blocks, column) of hot blocking frames
    hot: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    slow: dict[tuple[str, int], list[Any]] = field(default_factory=dict)


def _tally_stacks(profile: Profile, sources: SourceMap) -> _Tally:
    tally = _Tally()
    for stack, weight in profile.stacks:
        if not _on_loop(stack) or _idle(stack):
            continue
        tally.total += weight
        seen_statements: set[tuple[str, int]] = set()
        seen_functions: set[tuple[str, int]] = set()
        deepest: tuple[str, int, int] | None = None
        for frame in stack:
            display = sources.display(frame.file)
            if display is None:
                continue
            scopes = sources.scopes(display)
            first, _, column = scopes.statement(frame.line)
            seen_statements.add((display, first))
            function = scopes.function(frame.line)
            if function is not None:
                seen_functions.add((display, function[0]))
            deepest = (display, first, column)
        for key in seen_statements:
            tally.statements[key] += weight
        for key in seen_functions:
            tally.functions[key] += weight
        if deepest is None:
            continue
        display, first, column = deepest
        scopes = sources.scopes(display)
        own_leaf = sources.display(stack[-1].file) == display
        text = scopes.text(*scopes.statement(stack[-1].line)[:2]) if own_leaf else ""
        what = blocking_leaf(stack, text)
        if what is not None:
            entry = tally.hot.setdefault((display, first), [0.0, {}, column])
            entry[0] += weight
            entry[1][what] = entry[1].get(what, 0.0) + weight
    return tally


def _tally_log(profile: Profile, sources: SourceMap) -> _Tally:
    tally = _Tally(sampled=False)
    for coro, file, line, seconds in profile.slow:
        tally.total += seconds
        display = sources.display(file) if file else None
        if display is None:
            continue
        function = sources.scopes(display).function(line)
        if function is None:
            continue
        tally.functions[(display, function[0])] += seconds
        entry = tally.slow.setdefault((display, function[0]), [0.0, 0, coro])
        entry[0] += seconds
        entry[1] += 1
    return tally


def rank(
    findings: Sequence[Finding], profiles: Sequence[Profile], sources: SourceMap
) -> tuple[list[Finding], dict[Finding, Share]]:
    """The findings, with AF701/AF702 findings for what no rule covers, sorted by share
    (highest first), and each one's share. A finding outside every profile has 0%."""
    tallies = [
        _tally_log(p, sources) if p.kind == "asyncio-log" else _tally_stacks(p, sources)
        for p in profiles
    ]
    tallies = [t for t in tallies if t.total > 0]
    sampled = [t for t in tallies if t.sampled]
    covered_statements: set[tuple[str, int]] = set()
    covered_functions: set[tuple[str, int]] = set()
    for finding in findings:
        if finding.path in sources.files:
            scopes = sources.scopes(finding.path)
            covered_statements.add((finding.path, scopes.statement(finding.line)[0]))
            function = scopes.function(finding.line)
            if function is not None:
                covered_functions.add((finding.path, function[0]))
    extra = _uncovered(tallies, covered_statements, covered_functions)
    shares: dict[Finding, Share] = {}
    for finding in [*findings, *extra]:
        shares[finding] = _share(finding, tallies, sampled, sources)
    ordered = sorted(shares, key=lambda f: (-shares[f].key, -(shares[f].function or 0.0), f))
    return ordered, shares


def _share(
    finding: Finding, tallies: Sequence[_Tally], sampled: Sequence[_Tally], sources: SourceMap
) -> Share:
    if finding.path not in sources.files or not tallies:
        return Share(0.0 if sampled else None, 0.0 if tallies else None)
    scopes = sources.scopes(finding.path)
    first = scopes.statement(finding.line)[0]
    function = scopes.function(finding.line)
    # An AF701 frame's share is the samples that block there, not every sample passing
    # through it: an entry point (`asyncio.run(main())`) is in every stack.
    if finding.code == HOT_BLOCKING:
        weights = [t.hot.get((finding.path, first), [0.0])[0] for t in sampled]
    else:
        weights = [t.statements.get((finding.path, first), 0.0) for t in sampled]
    statement = (
        sum(w / t.total for w, t in zip(weights, sampled, strict=True)) / len(sampled)
        if sampled
        else None
    )
    if function is None:
        return Share(statement, None)
    key = (finding.path, function[0])
    in_function = sum(t.functions.get(key, 0.0) / t.total for t in tallies) / len(tallies)
    return Share(statement, in_function, function[2])


def _uncovered(
    tallies: Sequence[_Tally],
    covered_statements: set[tuple[str, int]],
    covered_functions: set[tuple[str, int]],
) -> list[Finding]:
    hot: dict[tuple[str, int], tuple[float, dict[str, float], int]] = {}
    slow: dict[tuple[str, int], tuple[float, int, str]] = {}
    for tally in tallies:
        for key, (weight, kinds, column) in tally.hot.items():
            old = hot.get(key, (0.0, {}, column))
            merged = dict(old[1])
            for what, w in kinds.items():
                merged[what] = merged.get(what, 0.0) + w / tally.total
            hot[key] = (old[0] + weight / tally.total, merged, column)
        for key, (seconds, steps, coro) in tally.slow.items():
            old_slow = slow.get(key, (0.0, 0, coro))
            slow[key] = (old_slow[0] + seconds, old_slow[1] + steps, coro)
    found = []
    for (path, line), (share, kinds, column) in sorted(hot.items()):
        if (path, line) in covered_statements or share < HOT_MIN / len(tallies):
            continue
        what = max(kinds, key=lambda k: kinds[k])
        found.append(
            Finding(
                path,
                line,
                column + 1,
                HOT_BLOCKING,
                FAMILY,
                f"{what} blocks the event loop here (a hot frame of the profile)",
                False,
                NO_RULE,
            )
        )
    for (path, line), (seconds, steps, coro) in sorted(slow.items()):
        if (path, line) in covered_functions:
            continue
        found.append(
            Finding(
                path,
                line,
                1,
                SLOW_COROUTINE,
                FAMILY,
                f"coroutine {coro}() held the event loop for {seconds:.3f} s in {steps} slow "
                f"step{'s' if steps != 1 else ''} (asyncio debug log)",
                False,
                NO_RULE,
            )
        )
    return found


def parse_min_share(value: str) -> float:
    """`1%`, `1` (percent) or `0.5%` -> a fraction."""
    text = value.strip().removesuffix("%")
    try:
        number = float(text)
    except ValueError as exc:
        raise ValueError(f"not a percentage: {value!r} (write it like 1%)") from exc
    if not 0 <= number <= 100:
        raise ValueError(f"not a percentage between 0 and 100: {value!r}")
    return number / 100


def above(shares: Mapping[Finding, Share], minimum: float) -> set[Finding]:
    return {f for f, share in shares.items() if share.key >= minimum}


# -- the rules, for `asyncfix list`, `explain` and SARIF ---------------------------------------


def profile_rules() -> dict[str, tuple[type[AsyncfixCodemod], Rule]]:
    """AF701/AF702 as the registry lists rules. They come from a profile, not from the
    source, so their holder is no codemod of the pipeline: it is never run on a file."""
    holder = _holder()
    return {rule.code: (holder, rule) for rule in holder.RULES}


@cache
def _holder() -> type[AsyncfixCodemod]:
    from asyncfix.codemods.base import AsyncfixCodemod, Rule

    example = (
        "import time\n\n\n"
        "async def handler(path):\n"
        "    with open(path) as f:\n"
        "        return f.read()\n"
    )

    class ProfileGuided(AsyncfixCodemod):
        """Never in the pipeline (not in asyncfix.codemods): its rules' findings come
        from `--profile`."""

        NAME = "profile-guided"
        FAMILY = FAMILY
        RULES: ClassVar[tuple[Rule, ...]] = (
            Rule(
                HOT_BLOCKING,
                "profile-hot-blocking-frame",
                "hot frame on the event loop blocks (socket, SSL, sleep, file, json, "
                "subprocess, sync DB) and no rule covers it (from --profile)",
                "The profile shows the event loop's thread spending its samples in a call "
                "known to block, reached from this line of the project's own code. While it "
                "runs no other request makes progress. No asyncfix rule covers the call yet: "
                "the profile shows what the next rule should be.",
                "Move the blocking work off the loop (`await asyncio.to_thread(...)`) or use "
                "an async library for it. Reported only when `check`/`apply` get `--profile`.",
                example,
                example,
            ),
            Rule(
                SLOW_COROUTINE,
                "profile-slow-coroutine",
                "coroutine the asyncio debug log names as slow, in a function no finding "
                "explains (from --profile)",
                "With PYTHONASYNCIODEBUG=1 asyncio logs each step of a task that holds the loop "
                "longer than slow_callback_duration. This coroutine's steps did, and no "
                "asyncio finding is in its function: the cause is something no rule covers "
                "yet (CPU work, a C extension's blocking call).",
                "Profile the coroutine (py-spy) to find the statement; move CPU work to a "
                "process pool and blocking calls to `asyncio.to_thread`.",
                example,
                example,
            ),
        )

    return ProfileGuided


def load_all(paths: Iterable[Path]) -> list[Profile]:
    return [load_profile(path) for path in paths]


def rank_run(
    findings: Sequence[Finding],
    files: Mapping[str, Path],
    profile_paths: Sequence[Path],
    root: str | None = None,
    base: Path | None = None,
) -> tuple[list[Finding], dict[Finding, Share]]:
    """`rank` over the profiles at `profile_paths` and a run's files (display -> path).
    `root`: the profiles' path prefix for the project's directory `base` (--profile-root)."""
    sources = SourceMap(files, root, base or Path.cwd())
    return rank(findings, load_all(profile_paths), sources)
