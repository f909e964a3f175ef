"""Family `serializer` (AF1xx): JSON and pandas serialization on the event loop.

One transformer owns the four rules because they meet at the same sites: a
`Response(content=json.dumps(data))` in a FastAPI path operation is AF103 when that rule
is selected (AF101 otherwise), and AF103's fix may replace the Response around the
json.dumps call that AF101 would rewrite.

What "keeps behaviour" means here. orjson does not write the same text as json.dumps: no
spaces after `,` and `:`, UTF-8 where json.dumps writes `\\uXXXX` escapes, and NaN or an
infinity as `null` where json.dumps writes the non-JSON tokens `NaN`/`Infinity`. So
json.dumps is rewritten only where its text is sent as an HTTP body that declares a JSON
media type, and nothing else sees it: there only the parsed JSON value counts, and that is
the same. Everywhere else (a str that is compared, hashed, signed, stored, logged, returned)
it is a finding. The inputs on which the two libraries differ are listed in the README.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    Assignment,
    ComprehensionScope,
    FunctionScope,
    ImportAssignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix import syntax
from asyncfix.codemods.base import AsyncfixCodemod, Rule, SourceView
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    ROUTE_METHODS,
    LoopContext,
    inside_sync_lock,
    is_primary_operand,
    loop_context,
    make_await,
    module_name_at,
    remove_import_if_unused,
    route_decorator,
    to_thread_call,
)
from asyncfix.index import children, full_name, walk
from asyncfix.project import project_facts
from asyncfix.versions import ASYNCIO_TO_THREAD, ORJSON_OPTIONS, missing

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

# -- the rules -------------------------------------------------------------------------------

AF101 = Rule(
    code="AF101",
    name="json-dumps-in-async",
    summary="json.dumps() in async def -> orjson.dumps() (JSON response bodies only)",
    why=(
        "json.dumps() is pure-Python-speed CPU work on the event loop's thread: while it "
        "serializes a large payload no other request of this worker makes progress. orjson "
        "does the same work several times faster."
    ),
    fix=(
        "orjson.dumps(x) returns bytes; `.decode()` is added only where a str is needed "
        "(aiohttp's `text=`). Keywords: sort_keys=True -> orjson.OPT_SORT_KEYS, indent=2 -> "
        "orjson.OPT_INDENT_2; ensure_ascii, check_circular and separators that are JSON's own "
        "comma and colon are dropped; orjson.OPT_NON_STR_KEYS is added unless the payload is a "
        "literal whose keys are all strings. orjson's text differs from json.dumps' (compact, "
        "UTF-8 instead of \\u escapes, NaN and infinities as null), so the call is rewritten "
        "only where that text is the body of a response that declares a JSON media type "
        '(Starlette/FastAPI `Response(content=..., media_type="application/json")`, '
        'aiohttp `web.Response(text=/body=..., content_type="application/json")`), '
        "directly or through a local variable used nowhere else; there only the parsed value "
        "counts, and it is the same. Left for manual review: a str whose text is used "
        "otherwise (compared, hashed, signed, stored, logged, returned), and cls=, default=, "
        "allow_nan=, skipkeys=, indent other than 2, unusual separators, non-literal flags, "
        "* or ** arguments (orjson would not behave exactly the same)."
    ),
    before=(
        '"""Exports."""\n'
        "import json\n"
        "\n"
        "from starlette.responses import Response\n"
        "\n"
        "\n"
        "async def export(rows):\n"
        '    body = json.dumps({"rows": rows}, sort_keys=True)\n'
        '    return Response(body, media_type="application/json")\n'
    ),
    after=(
        '"""Exports."""\n'
        "\n"
        "import orjson\n"
        "from starlette.responses import Response\n"
        "\n"
        "\n"
        "async def export(rows):\n"
        '    body = orjson.dumps({"rows": rows}, option=orjson.OPT_NON_STR_KEYS | '
        "orjson.OPT_SORT_KEYS)\n"
        '    return Response(body, media_type="application/json")\n'
    ),
    local_fix=True,
    valid=(
        "import json\n\n\ndef render(data):\n    return json.dumps(data)\n",
        "async def handle(request, json):\n    return json.dumps(await request.json())\n",
    ),
)

AF102 = Rule(
    code="AF102",
    name="json-loads-in-async",
    summary="json.loads() in async def -> orjson.loads()",
    why=(
        "json.loads() parses on the event loop's thread; on a large document every other "
        "request of this worker waits. orjson parses the same JSON several times faster."
    ),
    fix=(
        "orjson.loads(s) takes the same str or bytes and returns the same objects for every "
        "RFC 8259 document whose integers fit in 64 bits (larger ones become floats); its "
        "JSONDecodeError is a subclass of json.JSONDecodeError, so existing `except` clauses "
        "still catch it. It rejects some input json.loads accepts: NaN/Infinity tokens (not "
        "JSON), UTF-16/32 bytes, a byte order mark, lone surrogate escapes. Left for manual "
        "review: hooks and options (cls=, object_hook=, object_pairs_hook=, parse_float=, "
        "parse_int=, parse_constant=, strict=), which orjson does not have; text that "
        "json.dumps() or json.dump() may have written (it writes NaN and Infinity): made in "
        "the same function, or read from anywhere but a request or response body in a "
        "module that writes JSON with them (the same class first); and a call under a broad "
        "`except` (bare, Exception, BaseException), which would swallow orjson's "
        "rejection silently."
    ),
    before=(
        "import json\n"
        "\n"
        "\n"
        "async def handle(request):\n"
        "    payload = json.loads(await request.body())\n"
        '    return payload["id"]\n'
    ),
    after=(
        "import orjson\n"
        "\n"
        "\n"
        "async def handle(request):\n"
        "    payload = orjson.loads(await request.body())\n"
        '    return payload["id"]\n'
    ),
    local_fix=True,
    valid=("import json\n\n\nasync def parse(body):\n    return (lambda: json.loads(body))\n",),
)

AF103 = Rule(
    code="AF103",
    name="hand-built-json-response",
    summary="JSON built by hand in an async FastAPI path operation -> a faster serializer",
    why=(
        '`Response(content=json.dumps(data), media_type="application/json")` and '
        "`JSONResponse(content=data)` serialize with the stdlib json on the event loop. "
        "FastAPI offers faster ways, and which one is right depends on its version: 0.130 "
        "serializes a returned value with Pydantic in Rust when the route declares a return "
        "type or response_model, and 0.131 deprecated ORJSONResponse and UJSONResponse."
    ),
    fix=(
        "The target FastAPI version comes from `[tool.asyncfix] fastapi-version`, else from "
        "the project's lock files (uv.lock, poetry.lock, pdm.lock), else from its declared "
        "dependencies (pyproject.toml, requirements*.txt). Before 0.131: "
        "`JSONResponse(...)` -> `ORJSONResponse(...)` and `Response(content=json.dumps(data), "
        "...)` -> `ORJSONResponse(content=data, ...)`. From 0.131, or when the version is "
        "unknown, no deprecated class is ever written: `Response(content=json.dumps(data))` "
        "keeps its Response and serializes with orjson.dumps (as AF101), and JSONResponse is "
        "a finding: return the data and declare a return type or response_model, which "
        "asyncfix does not do because the response model validates and filters the data and "
        "so can change the response. JSONResponse with a small literal payload is left "
        "alone. Only async path operations of a FastAPI() or APIRouter() made in the same "
        "module are considered."
    ),
    before=(
        '"""Reports."""\n'
        "import json\n"
        "\n"
        "from fastapi import FastAPI, Response\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/report")\n'
        "async def report():\n"
        "    data = await build_report()\n"
        '    return Response(content=json.dumps(data), media_type="application/json")\n'
    ),
    after=(
        '"""Reports."""\n'
        "\n"
        "import orjson\n"
        "from fastapi import FastAPI, Response\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/report")\n'
        "async def report():\n"
        "    data = await build_report()\n"
        "    return Response(content=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), "
        'media_type="application/json")\n'
    ),
    local_fix=True,
    valid=(
        "from fastapi import FastAPI\n"
        "from fastapi.responses import JSONResponse\n\n"
        "app = FastAPI()\n\n\n"
        '@app.get("/health")\n'
        "async def health():\n"
        '    return JSONResponse({"ok": True})\n',
    ),
)

AF104 = Rule(
    code="AF104",
    name="cpu-heavy-serialization-in-async",
    summary="pandas and json file I/O in async def -> await asyncio.to_thread(...)",
    why=(
        "DataFrame.to_json/to_dict/to_csv, pandas.read_* and json.dump/json.load on a file "
        "are long CPU and disk work; on the event loop they stall every other request."
    ),
    fix=(
        "`await asyncio.to_thread(f, *args, **kwargs)` runs the same call, with the same "
        "arguments (still evaluated first, on the loop), in a worker thread. Only where "
        "the receiver is known to be a pandas object (a pandas.DataFrame/Series annotation, "
        "a pandas constructor, a pandas.read_* result), and for json.dump/json.load only on a "
        "file opened with open() in the same function. The object handed to the thread "
        "must be a name local to the async def: other tasks run meanwhile, and module state "
        "or attributes may be changed by them. Left for manual review: anything else that "
        "looks like one of these calls, a call inside a generator expression or under a "
        "`with <lock>:`, a call between a read and a write of shared state (the same file, an "
        "attribute of self or cls, a module global) that no await separates (concurrent calls "
        "could interleave there), and projects whose requires-python allows Python < 3.9 (no "
        "asyncio.to_thread)."
    ),
    before=(
        "import pandas as pd\n"
        "\n"
        "\n"
        "async def export(path):\n"
        "    df = pd.read_csv(path)\n"
        '    return df.to_json(orient="records")\n'
    ),
    after=(
        "import asyncio\n"
        "\n"
        "import pandas as pd\n"
        "\n"
        "\n"
        "async def export(path):\n"
        "    df = await asyncio.to_thread(pd.read_csv, path)\n"
        '    return await asyncio.to_thread(df.to_json, orient="records")\n'
    ),
    local_fix=True,
    valid=("async def serialize(model):\n    return model.to_dict()\n",),
)

# -- names -----------------------------------------------------------------------------------

_STARLETTE_RESPONSE = frozenset(
    {"starlette.responses.Response", "fastapi.Response", "fastapi.responses.Response"}
)
_AIOHTTP_RESPONSE = frozenset({"aiohttp.web.Response", "aiohttp.web_response.Response"})
_JSON_RESPONSE = frozenset({"starlette.responses.JSONResponse", "fastapi.responses.JSONResponse"})
_FASTAPI_APPS = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.applications.FastAPI",
        "fastapi.APIRouter",
        "fastapi.routing.APIRouter",
    }
)
_PANDAS_TYPES = frozenset(
    {
        "pandas.DataFrame",
        "pandas.Series",
        "pandas.core.frame.DataFrame",
        "pandas.core.series.Series",
    }
)
_READERS = ("read_csv", "read_excel", "read_feather", "read_json", "read_parquet", "read_pickle")
_PANDAS_READERS = frozenset(f"pandas.{name}" for name in (*_READERS, "read_table"))
_PANDAS_MAKERS = _PANDAS_TYPES | _PANDAS_READERS
_PANDAS_METHODS = frozenset({"to_json", "to_dict", "to_csv"})
_JSON_FILE_IO = frozenset({"json.dump", "json.load"})
# Call names (as written) worth resolving metadata for; the screen looks for these only.
_CANDIDATES = frozenset(
    {"dumps", "loads", "dump", "load", "JSONResponse", "read_table", *_READERS, *_PANDAS_METHODS}
)
_JSON_MEDIA_TYPE = re.compile(
    r"application/(?:[\w.+-]+\+)?json\s*(?:;.*)?", re.IGNORECASE | re.DOTALL
)
_UTF8 = frozenset({"utf-8", "utf8", "utf_8"})

_ASYNCIO_TAKEN = "the name `asyncio` is bound to something else here"
_ORJSON_TAKEN = "the name `orjson` is bound to something else here"
_IN_GENEXP = "inside a generator expression an await would make it an async generator"
_UNDER_LOCK = "awaiting while a thread lock is held can deadlock the event loop"
_TEXT_USED = (
    "its text is used here, not only sent as a JSON response body, and orjson writes "
    "different text (no spaces after , and :, UTF-8 instead of \\u escapes, NaN as null)"
)
_COMMENT_LOST = "a comment inside the call would be lost"

# Awaited reads of a request's or a response's body: text that comes from outside.
_BODY_READS = frozenset({"body", "text", "read", "receive_text", "receive_bytes"})
_BROAD = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})


@dataclass(frozen=True)
class _JsonWriter:
    """A json.dump()/json.dumps() whose text may be stored, and where it is."""

    name: str
    where: str  # `Class.method`, `function` or `<module>`
    owner: cst.ClassDef | None


def _broad(caught: cst.BaseExpression | None) -> str | None:
    """` Exception` for a handler that catches Exception or more (bare, a tuple), else None."""
    if caught is None:
        return ""
    names = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
    for name in names:
        text = cst.Module([]).code_for_node(name)
        if text in _BROAD:
            return f" {text}"
    return None


# -- static facts about expressions ---------------------------------------------------------

_NOT_LITERAL = object()


def _literal(node: cst.BaseExpression) -> Any:
    """The value of a simple literal (True/False/None, an int, a str, a tuple of them)."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    if isinstance(node, cst.Tuple):
        items = [_literal(e.value) for e in node.elements if isinstance(e, cst.Element)]
        if len(items) == len(node.elements) and _NOT_LITERAL not in items:
            return tuple(items)
    return _NOT_LITERAL


def _is_str_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return isinstance(node.evaluated_value, str)
    if isinstance(node, cst.ConcatenatedString):
        return isinstance(node.evaluated_value, str)
    return isinstance(node, cst.FormattedString)


def _only_str_keys(node: cst.BaseExpression) -> bool:
    """A literal payload whose dicts, at every depth, have only str keys."""
    if _is_str_literal(node) or isinstance(node, cst.Integer | cst.Float):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus) and isinstance(
            node.expression, cst.Integer | cst.Float
        )
    if isinstance(node, cst.List | cst.Tuple):
        return all(isinstance(e, cst.Element) and _only_str_keys(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _is_str_literal(e.key) and _only_str_keys(e.value)
            for e in node.elements
        )
    return False


def _small_literal(node: cst.BaseExpression) -> bool:
    """A literal payload of constants only: too small for a faster serializer to matter."""
    if isinstance(node, cst.List | cst.Tuple):
        return all(isinstance(e, cst.Element) and _small_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _small_literal(e.key) and _small_literal(e.value)
            for e in node.elements
        )
    return _only_str_keys(node)


def _is_json_media_type(node: cst.BaseExpression | None) -> bool:
    value = _literal(node) if node is not None else None
    return isinstance(value, str) and _JSON_MEDIA_TYPE.fullmatch(value.strip()) is not None


def _argument(call: cst.Call, position: int | None, keyword: str) -> cst.Arg | None:
    """The argument bound to parameter `keyword` (at `position` when passed positionally)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    if position is None:
        return None
    for index, arg in enumerate(call.args):
        if arg.keyword is not None or arg.star:
            return None  # after a * argument the positions are unknowable
        if index == position:
            return arg
    return None


def _within(scope: Scope | None, function: cst.FunctionDef) -> bool:
    """Is `scope` the scope of `function`'s body, or of a comprehension in it?"""
    while isinstance(scope, ComprehensionScope):
        scope = scope.parent
    return isinstance(scope, FunctionScope) and scope.node is function


def _comments(node: cst.CSTNode) -> int:
    return len(m.findall(node, m.Comment()))


def _callee(call: cst.Call) -> str | None:
    if isinstance(call.func, cst.Name):
        return call.func.value
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return None


def _option_flags(orjson: str, flags: Sequence[str]) -> cst.BaseExpression:
    expr: cst.BaseExpression = cst.Attribute(cst.Name(orjson), cst.Name(flags[0]))
    for flag in flags[1:]:
        expr = cst.BinaryOperation(
            expr, cst.BitOr(), cst.Attribute(cst.Name(orjson), cst.Name(flag))
        )
    return expr


_NO_SPACE = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


@dataclass(frozen=True)
class _DumpsArgs:
    """json.dumps' arguments as orjson options: which argument is the payload, which flags."""

    obj: int  # index in call.args
    flags: tuple[str, ...]  # orjson OPT_* names, sorted

    @property
    def plain(self) -> bool:
        """No option a response class could not apply by itself."""
        return set(self.flags) <= {"OPT_NON_STR_KEYS"}


_DUMPS_REFUSALS = {
    "default": (
        "orjson calls `default` for other types than json.dumps does (it serializes enums, "
        "UUIDs, dataclasses and datetimes itself, and hands namedtuples and float subclasses "
        "to `default`)"
    ),
    "allow_nan": "orjson writes NaN and infinities as null; allow_nan= cannot be kept",
    "skipkeys": "orjson cannot skip keys: skipkeys= has no equivalent",
    "cls": "a custom encoder class (cls=) has no orjson equivalent",
}


def _droppable(name: str, value: Any) -> bool:
    """A json.dumps keyword that changes only the text (or the error on a cycle), or that
    has its default value."""
    if name in ("ensure_ascii", "check_circular"):
        return isinstance(value, bool)
    if name == "separators":
        return value is None or (
            isinstance(value, tuple)
            and [v.strip() if isinstance(v, str) else v for v in value] == [",", ":"]
        )
    if name == "skipkeys":
        return value is False
    return name in ("cls", "default", "indent") and value is None


def map_dumps_arguments(call: cst.Call) -> _DumpsArgs | str:
    """json.dumps' arguments mapped exactly onto orjson's, or why they cannot be."""
    obj: int | None = None
    flags: set[str] = set()
    for index, arg in enumerate(call.args):
        if arg.star:
            return "arguments passed with * or ** cannot be mapped onto orjson's"
        if arg.keyword is None or arg.keyword.value == "obj":
            if obj is not None:
                return "json.dumps() takes one positional argument; this call is unusual"
            obj = index
            continue
        name, value = arg.keyword.value, _literal(arg.value)
        text = cst.Module([]).code_for_node(arg.value)
        if name == "sort_keys" and isinstance(value, bool):
            flags |= {"OPT_SORT_KEYS"} if value else set()
        elif name == "indent" and value == 2 and type(value) is int:
            flags.add("OPT_INDENT_2")
        elif _droppable(name, value):
            continue
        elif name in _DUMPS_REFUSALS:
            return _DUMPS_REFUSALS[name]
        elif name == "indent":
            return f"orjson indents by exactly 2 spaces only; indent={text} cannot be kept"
        elif name in ("sort_keys", "ensure_ascii", "check_circular", "separators"):
            return f"{name}={text} cannot be mapped exactly"
        else:
            return f"json.dumps() has no {name}= argument orjson could take"
    if obj is None:
        return "json.dumps() without its payload is unusual"
    if not _only_str_keys(call.args[obj].value):
        flags.add("OPT_NON_STR_KEYS")
    return _DumpsArgs(obj, tuple(sorted(flags)))


def orjson_dumps(
    call: cst.Call, mapped: _DumpsArgs, orjson: str, *, decode: bool
) -> cst.BaseExpression:
    """`orjson.dumps(obj[, option=...])[.decode()]` from json.dumps `call`, keeping the
    payload argument as written (its comments and the call's line breaks)."""
    obj, last = call.args[mapped.obj], call.args[-1]
    obj = obj.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
    if mapped.flags:
        if obj.comma is cst.MaybeSentinel.DEFAULT or mapped.obj == len(call.args) - 1:
            obj = obj.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        option = cst.Arg(
            _option_flags(orjson, mapped.flags),
            keyword=cst.Name("option"),
            equal=_NO_SPACE,
            comma=last.comma,
            whitespace_after_arg=last.whitespace_after_arg,
        )
        args = [obj, option]
    else:
        args = [obj.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)]
    new: cst.BaseExpression = call.with_changes(
        func=cst.Attribute(cst.Name(orjson), cst.Name("dumps")), args=args, lpar=[], rpar=[]
    )
    if decode:
        new = cst.Call(cst.Attribute(new, cst.Name("decode")))
    return new.with_changes(lpar=call.lpar, rpar=call.rpar)


# -- the screen ------------------------------------------------------------------------------


def screen_names(tree: ast.Module) -> tuple[frozenset[str], bool]:
    """One walk of the stdlib ast: the call names worth resolving metadata for (empty when
    there are none), and whether pandas is imported. A call counts by its last name as
    written, and an import alias (`from json import dumps as encode`) may be a site."""
    callees: set[str] = set()
    aliases: set[str] = set()
    imports_pandas = False
    for node in walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                callees.add(func.id)
            elif isinstance(func, ast.Attribute):
                callees.add(func.attr)
        elif isinstance(node, ast.Import):
            imports_pandas |= any(_is_pandas(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            imports_pandas |= _is_pandas(node.module)
            aliases.update(a.asname for a in node.names if a.asname is not None)
    names = callees & (_CANDIDATES | {"Response"} | aliases)
    return (frozenset(names) if names & (_CANDIDATES | aliases) else frozenset()), imports_pandas


def _is_pandas(module: str) -> bool:
    return module == "pandas" or module.startswith("pandas.")


def calls_on_loop(
    tree: ast.Module, names: Collection[str], acts: _ActingCalls | None = None
) -> bool:
    """Is some call to one of `names` (last name as written) made directly on the event
    loop: in an async def's own body or a comprehension there, not in a nested def, lambda
    or class body (whose defaults, decorators and bases do count: they run there)? With
    `acts`, only a call the transform may act on in that async def counts."""
    pending: list[tuple[ast.AST, ast.AsyncFunctionDef]] = []
    for node in walk(tree):
        if isinstance(node, ast.AsyncFunctionDef):
            pending.extend((statement, node) for statement in node.body)
    while pending:
        node, function = pending.pop()
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names and (acts is None or acts(node, function)):
                return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            # An inner async def is walked on its own; its body is not this loop code.
            body = _body(node)
            pending += [(c, function) for c in children(node) if c not in body]
        else:
            pending += [(c, function) for c in children(node)]
    return False


def _body(node: ast.AST) -> list[ast.AST]:
    body = getattr(node, "body", [])
    return body if isinstance(body, list) else [body]


# What leave_Call acts on, by the one qualified name libcst gives the call.
_ALWAYS_ACTED_ON = frozenset({"json.dumps", "json.loads", *_JSON_FILE_IO, *_PANDAS_READERS})


class _ActingCalls:
    """May the transform act on (change or report) a call made on the loop in an async def?

    A sufficient "no" only. The transform acts on a call whose qualified name (libcst's
    QualifiedNameProvider on the Call: the dotted name of its func through calls and
    subscripts, resolved by the longest prefix bound in scope) is json.dumps/loads/dump/load
    or a pandas reader; on JSONResponse only with a payload that is not a small literal,
    in a route (a `@<name>.<method>(...)` decorator on a name some `name = FastAPI()` or
    APIRouter() makes); on `.to_json()`-like methods only when pandas is imported. A Response
    acts only around a json.dumps made in it, which counts by itself. That qualified name
    is the name as written (a module-level, builtin or unbound name, or a plain `import a.b`),
    what an import anywhere in the module may bind its head to, or a local, class or relative
    name (with `<locals>`, a class prefix or a leading dot) that is never one of those.
    """

    def __init__(self, tree: ast.Module, imports_pandas: bool) -> None:
        self._imports_pandas = imports_pandas
        self._bound: dict[str, set[str]] = {}  # local name -> what an import binds it to
        self._star: list[str] = []  # modules imported with *: any head may come from them
        self._made: dict[str, list[ast.expr]] = {}  # `name = f(...)`: the f of each
        for node in walk(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
            ):
                self._made.setdefault(node.targets[0].id, []).append(node.value.func)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname is not None:
                        self._bound.setdefault(alias.asname, set()).add(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        self._star.append(node.module)
                    else:
                        local = alias.asname or alias.name
                        self._bound.setdefault(local, set()).add(f"{node.module}.{alias.name}")

    def _qualified(self, func: ast.expr) -> set[str]:
        """Every name libcst's qualified name of a call to `func` may be."""
        written = full_name(func)
        if written is None:
            return set()  # libcst's "None.attr": not a name anything binds
        head, dot, rest = written.partition(".")
        found = {written, *(f"{module}.{written}" for module in self._star)}
        found.update(bound + dot + rest for bound in self._bound.get(head, ()))
        return found

    def __call__(self, call: ast.Call, function: ast.AsyncFunctionDef) -> bool:
        func = call.func
        if (
            self._imports_pandas
            and isinstance(func, ast.Attribute)
            and func.attr in _PANDAS_METHODS
        ):
            return True
        qualified = self._qualified(func)
        if qualified & _ALWAYS_ACTED_ON:
            return True
        if not qualified & _JSON_RESPONSE:
            return False
        content = _ast_content(call)
        return (
            content is not None
            and not _ast_small_literal(content)
            and any(self._route_like(d) for d in function.decorator_list)
        )

    def _route_like(self, decorator: ast.expr) -> bool:
        """`_is_route_decorator`'s shape, on a name some `name = FastAPI()/APIRouter()` makes."""
        method = route_decorator(decorator)
        if method is None or not isinstance(method.value, ast.Name):
            return False
        made = self._made.get(method.value.id, ())
        return any(self._qualified(func) & _FASTAPI_APPS for func in made)


def _ast_content(call: ast.Call) -> ast.expr | None:
    """`_argument(call, 0, "content")` on the ast: a plain first argument is first in the
    source too (no positional argument may follow a keyword or **)."""
    for keyword in call.keywords:
        if keyword.arg == "content":
            return keyword.value
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


def _ast_small_literal(node: ast.expr) -> bool:
    """Only where `_small_literal` surely holds: constants (no f-string, bytes or complex),
    a negated number, and lists, tuples and dicts of them."""
    if isinstance(node, ast.List | ast.Tuple):
        return all(_ast_small_literal(e) for e in node.elts)  # a Starred is not small
    if isinstance(node, ast.Dict):
        return all(
            key is not None and _ast_small_literal(key) and _ast_small_literal(value)
            for key, value in zip(node.keys, node.values, strict=True)
        )
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub) and _is_number(node.operand)
    return isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, bool | str) or _is_number(node)
    )


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


# -- the codemod -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sink:
    """Where a json.dumps result goes: a response body, and the type it takes there."""

    takes: str  # "str", "bytes" or "any"
    starlette: bool


@dataclass
class _DumpsSite:
    """The decision for one json.dumps call, shared by the call and the Response around it."""

    code: str
    message: str
    reason: str | None = None
    mapped: _DumpsArgs | None = None
    orjson: str = "orjson"
    import_orjson: bool = False
    decode: bool = False
    strip_encode: cst.Call | None = None  # `json.dumps(x).encode()`: the .encode() call
    orjson_response: bool = False  # the Response around it becomes ORJSONResponse instead


class Serializer(AsyncfixCodemod):
    NAME = "serializer"
    FAMILY = "serializer"
    RULES = (AF101, AF102, AF103, AF104)
    TRIGGERS = (b"async",)  # and one of b"json", b"JSON", b"pandas": see may_match
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dumps: dict[cst.Call, _DumpsSite] = {}
        self._strip: set[cst.Call] = set()
        self._routes: dict[cst.FunctionDef, bool] = {}
        self._imports_pandas = False
        self._names: frozenset[str] = frozenset()  # call names that may be a site
        self._writers: list[_JsonWriter] | None = None  # json.dump(s) calls that may store

    @classmethod
    def may_match(cls, data: bytes) -> bool:
        return b"async" in data and (b"json" in data or b"JSON" in data or b"pandas" in data)

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Every site is a call made directly in an async def (see `_on_loop`).
        names, imports_pandas = screen_names(view.tree)
        if not names:
            return False
        acts = _ActingCalls(view.tree, imports_pandas)
        return calls_on_loop(view.tree, names, acts)

    def screen(self, module: cst.Module) -> bool:
        tree = self.run.syntax_tree() if module is self.run.original else None
        if tree is None:
            try:  # a tree another codemod rewrote: still cheaper than a libcst walk
                tree = syntax.parse(module.code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False  # cannot be screened (too deep for ast): left as it is
        self._names, self._imports_pandas = screen_names(tree)
        return bool(self._names)

    # -- small lookups -------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> str | None:
        """The one qualified name of `node`; None when there are none or several."""
        names = self.get_metadata(QualifiedNameProvider, node, set())
        return next(iter(names)).name if len(names) == 1 else None

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _on_loop(self, node: cst.CSTNode) -> tuple[Scope, LoopContext] | None:
        scope = self.get_metadata(ScopeProvider, node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return None
        return scope, where

    def _local_assignments(
        self, name: cst.Name, function: cst.FunctionDef
    ) -> list[Assignment] | None:
        """The bindings of `name` where it is used, if all are made in `function` (its body
        or its comprehensions); None for module state, a closure variable, an import."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        found = list(scope[name.value])
        if not found or not all(
            isinstance(a, Assignment)
            and not isinstance(a, ImportAssignment)
            and _within(a.scope, function)
            for a in found
        ):
            return None
        return found  # type: ignore[return-value]

    def _assigned_value(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        """The value of `name = value` when `target` is the only target."""
        parent = self._parent(target)
        assign = self._parent(parent) if isinstance(parent, cst.AssignTarget) else None
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign.value
        return None

    def _name_free_or_is(self, scope: Scope, name: str, qualified: str) -> bool:
        """May `name` be used (and imported) here to mean `qualified`?"""
        if name not in scope:
            return True
        for assignment in scope[name]:
            node = getattr(assignment, "node", None)
            if not isinstance(assignment, ImportAssignment) or not isinstance(node, cst.ImportFrom):
                return False
            module = cst.Module([]).code_for_node(node.module) if node.module else ""
            if isinstance(node.names, cst.ImportStar) or not any(
                f"{module}.{alias.evaluated_name}" == qualified and alias.asname is None
                for alias in node.names
            ):
                return False
        return True

    # -- FastAPI path operations ----------------------------------------------------------

    def _is_route(self, function: cst.FunctionDef) -> bool:
        """An async path operation of a FastAPI()/APIRouter() made in this module."""
        if function not in self._routes:
            self._routes[function] = any(
                self._is_route_decorator(d.decorator) for d in function.decorators
            )
        return self._routes[function]

    def _is_route_decorator(self, decorator: cst.BaseExpression) -> bool:
        if not (
            isinstance(decorator, cst.Call)
            and isinstance(decorator.func, cst.Attribute)
            and decorator.func.attr.value in ROUTE_METHODS
            and isinstance(decorator.func.value, cst.Name)
        ):
            return False
        app = decorator.func.value
        scope = self.get_metadata(ScopeProvider, app, None)
        if scope is None or app.value not in scope:
            return False
        assignments = list(scope[app.value])
        for assignment in assignments:
            if isinstance(assignment, ImportAssignment) or not isinstance(assignment, Assignment):
                return False
            value = self._assigned_value(assignment.node)
            if not isinstance(value, cst.Call) or self._qualified(value) not in _FASTAPI_APPS:
                return False
        return bool(assignments)

    # -- where a json.dumps result goes --------------------------------------------------

    def _sink(self, arg: cst.CSTNode | None) -> _Sink | None:
        """The response that `arg` (an argument) is the body of, if its type is JSON."""
        call = self._parent(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(call, cst.Call) or not isinstance(arg, cst.Arg):
            return None
        name = self._qualified(call)
        if name in _STARLETTE_RESPONSE:
            media_type = _argument(call, 3, "media_type")
            is_json = media_type is not None and _is_json_media_type(media_type.value)
            if is_json and arg is _argument(call, 0, "content"):
                return _Sink("any", starlette=True)
        elif name in _AIOHTTP_RESPONSE and arg.keyword is not None:
            content_type = _argument(call, None, "content_type")
            if content_type is not None and _is_json_media_type(content_type.value):
                if arg.keyword.value == "text":
                    return _Sink("str", starlette=False)
                if arg.keyword.value == "body":
                    return _Sink("bytes", starlette=False)
        return None

    def _sinks(self, text: cst.Call, function: cst.FunctionDef) -> list[_Sink] | None:
        """Every place the value of `text` goes, if each is a JSON response body."""
        parent = self._parent(text)
        if isinstance(parent, cst.Arg):
            sink = self._sink(parent)
            return [sink] if sink is not None else None
        if not isinstance(parent, cst.Assign) or len(parent.targets) != 1:
            return None
        target = parent.targets[0].target
        if not isinstance(target, cst.Name):
            return None
        assignments = self._local_assignments(target, function)
        if assignments is None or len(assignments) != 1 or assignments[0].node is not target:
            return None
        sinks = []
        for access in assignments[0].references:
            sink = self._sink(self._parent(access.node))
            if sink is None or len(access.referents) != 1:
                return None
            sinks.append(sink)
        return sinks or None

    # -- AF101 / AF103: json.dumps --------------------------------------------------------

    def _analyze_dumps(self, call: cst.Call, scope: Scope, where: LoopContext) -> _DumpsSite:
        assert where.function is not None
        mapped = map_dumps_arguments(call)
        # `json.dumps(x).encode()` (utf-8) is bytes: orjson's bytes stand in for all of it.
        text, strip = call, None
        parent = self._parent(call)
        outer = self._parent(parent) if isinstance(parent, cst.Attribute) else None
        if (
            isinstance(parent, cst.Attribute)
            and parent.attr.value == "encode"
            and isinstance(outer, cst.Call)
            and outer.func is parent
            and all(a.keyword is None and not a.star for a in outer.args)
            and (
                not outer.args
                or (len(outer.args) == 1 and str(_literal(outer.args[0].value)).lower() in _UTF8)
            )
        ):
            text, strip = outer, outer
        sinks = self._sinks(text, where.function)
        route = self.enabled("AF103") and self._is_route(where.function)
        code = "AF103" if route and sinks and all(s.starlette for s in sinks) else "AF101"
        message = "json.dumps() serializes on the event loop"
        if code == "AF103":
            message = "JSON response built with json.dumps() on the event loop"
        site = _DumpsSite(code, message, strip_encode=strip)
        orjson = module_name_at(scope, "orjson")
        takes = {s.takes for s in sinks or ()}
        if isinstance(mapped, str):
            site.reason = mapped
        elif (
            sinks is None
            or (strip is None and "bytes" in takes)
            or (strip is not None and "str" in takes)
        ):
            site.reason = _TEXT_USED
        elif orjson is None:
            site.reason = _ORJSON_TAKEN
        elif strip is not None and _comments(strip) > _comments(call):
            site.reason = _COMMENT_LOST
        elif (lacks := self._orjson_lacks(mapped)) is not None:
            site.reason = lacks
        else:
            site.mapped, site.orjson, site.import_orjson = mapped, orjson.name, orjson.needs_import
            site.decode = strip is None and "str" in takes
            if _comments(orjson_dumps(call, mapped, orjson.name, decode=False)) < _comments(call):
                site.reason = _COMMENT_LOST
            site.orjson_response = (
                site.reason is None
                and code == "AF103"
                and mapped.plain
                and isinstance(self._parent(text), cst.Arg)
                and _comments(text) == _comments(call.args[mapped.obj].value)
                and project_facts(self.run.config).fastapi.status == "old"
                and self._name_free_or_is(
                    scope, "ORJSONResponse", "fastapi.responses.ORJSONResponse"
                )
            )
        return site

    def _orjson_lacks(self, mapped: _DumpsArgs) -> str | None:
        """Why the project's orjson may not have an option the rewrite would emit."""
        for flag in mapped.flags:
            reason = missing(self.run.config, ORJSON_OPTIONS[flag], self.run.path)
            if reason is not None:
                return reason
        return None

    def _leave_dumps(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        found = self._on_loop(original)
        if found is None:
            return updated
        scope, where = found
        site = self._dumps[original] = self._analyze_dumps(original, scope, where)
        if site.orjson_response:
            return updated  # the Response around it is rewritten instead
        if site.reason is not None or site.mapped is None:
            self.report(original, site.code, site.message, reason=site.reason)
            return updated
        if not self.report(original, site.code, site.message + "; use orjson.dumps()"):
            return updated
        self._uses_orjson(scope, original, import_orjson=site.import_orjson)
        if site.strip_encode is not None:
            self._strip.add(site.strip_encode)
        return orjson_dumps(updated, site.mapped, site.orjson, decode=site.decode)

    def _uses_orjson(self, scope: Scope, replaced: cst.Call, *, import_orjson: bool) -> None:
        if import_orjson:
            AddImportsVisitor.add_needed_import(self.context, "orjson")
        remove_import_if_unused(self.context, scope, replaced.func)
        self.require_package("orjson")

    def _leave_response(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """AF103 before FastAPI 0.131: Response(content=json.dumps(data)) -> ORJSONResponse."""
        content = _argument(original, 0, "content")
        dumps = content.value if content is not None else None
        if (
            isinstance(dumps, cst.Call)
            and isinstance(dumps.func, cst.Attribute)
            and isinstance(dumps.func.value, cst.Call)
        ):
            dumps = dumps.func.value  # json.dumps(data).encode()
        site = self._dumps.get(dumps) if isinstance(dumps, cst.Call) else None
        if content is None or site is None or not site.orjson_response:
            return updated
        message = "JSON response built with json.dumps() on the event loop; use ORJSONResponse"
        if not self.report(original, "AF103", message):
            return updated
        assert site.mapped is not None and isinstance(dumps, cst.Call)
        scope = self.get_metadata(ScopeProvider, original)
        assert scope is not None  # it was on the event loop when json.dumps was analyzed
        index = original.args.index(content)
        new = updated.args[index].value
        if isinstance(new, cst.Call) and site.strip_encode is not None:
            new = new.func.value  # type: ignore[attr-defined]
        assert isinstance(new, cst.Call)
        args = list(updated.args)
        args[index] = args[index].with_changes(value=new.args[site.mapped.obj].value)
        media_type = _argument(original, None, "media_type")
        if (
            media_type is not None
            and _literal(media_type.value) == "application/json"
            and not _comments(media_type)
        ):
            drop = original.args.index(media_type)
            if drop == len(args) - 1 and drop > 0:
                args[drop - 1] = args[drop - 1].with_changes(comma=args[drop].comma)
            del args[drop]
        AddImportsVisitor.add_needed_import(self.context, "fastapi.responses", "ORJSONResponse")
        remove_import_if_unused(self.context, scope, original.func)
        remove_import_if_unused(self.context, scope, dumps.func)
        self.require_package("orjson")
        return updated.with_changes(func=cst.Name("ORJSONResponse"), args=args)

    # -- AF103: JSONResponse --------------------------------------------------------------

    def _leave_json_response(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        found = self._on_loop(original)
        if found is None or not self.enabled("AF103"):
            return updated
        scope, where = found
        assert where.function is not None
        content = _argument(original, 0, "content")
        if not self._is_route(where.function) or content is None or _small_literal(content.value):
            return updated
        message = "JSONResponse serializes with the stdlib json on the event loop"
        target = project_facts(self.run.config).fastapi
        reason = None
        if target.status == "new":
            reason = (
                f"the project targets FastAPI >= 0.131 ({target.evidence}), which deprecates "
                "ORJSONResponse: return the data and declare a return type or response_model "
                "so that FastAPI serializes it with Pydantic in Rust (not done automatically: "
                "the response model validates and filters the data)"
            )
        elif target.status == "unknown":
            reason = (
                f"the target FastAPI version is unknown ({target.evidence}); set "
                "[tool.asyncfix] fastapi-version or pin fastapi: before 0.131 the fix is "
                "ORJSONResponse, from 0.131 returning the data with a response model"
            )
        elif not self._name_free_or_is(scope, "ORJSONResponse", "fastapi.responses.ORJSONResponse"):
            reason = "the name `ORJSONResponse` is bound to something else here"
        if reason is not None:
            self.report(original, "AF103", message, reason=reason)
            return updated
        if not self.report(original, "AF103", message + "; use ORJSONResponse"):
            return updated
        AddImportsVisitor.add_needed_import(self.context, "fastapi.responses", "ORJSONResponse")
        remove_import_if_unused(self.context, scope, original.func)
        self.require_package("orjson")
        return updated.with_changes(func=cst.Name("ORJSONResponse"))

    # -- AF102: json.loads ----------------------------------------------------------------

    def _leave_loads(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        found = self._on_loop(original)
        if found is None:
            return updated
        scope, where = found
        message = "json.loads() parses on the event loop"
        orjson = module_name_at(scope, "orjson")
        reason = None
        if any(a.star for a in original.args):
            reason = "arguments passed with * or ** cannot be mapped onto orjson's"
        elif len(original.args) != 1:
            extra = [a.keyword.value for a in original.args if a.keyword and a.keyword.value != "s"]
            reason = (
                f"orjson.loads() has no {extra[0]}= (no hooks, no parse_* options)"
                if extra
                else "json.loads() takes one argument; this call is unusual"
            )
        elif original.args[0].keyword is not None and original.args[0].keyword.value != "s":
            reason = f"orjson.loads() has no {original.args[0].keyword.value}= argument"
        elif orjson is None:
            reason = _ORJSON_TAKEN
        elif where.function is not None and self._made_by_dumps(
            original.args[0].value, where.function
        ):
            reason = (
                "the text comes from json.dumps(), which writes NaN and Infinity, and "
                "orjson.loads() rejects them"
            )
        elif where.function is not None:
            reason = self._written_with_json(original, where.function) or self._broad_except(
                original, where.function
            )
        if reason is not None or orjson is None:
            self.report(original, "AF102", message, reason=reason)
            return updated
        if not self.report(original, "AF102", message + "; use orjson.loads()"):
            return updated
        self._uses_orjson(scope, original, import_orjson=orjson.needs_import)
        arg = updated.args[0].with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(
            func=cst.Attribute(cst.Name(orjson.name), cst.Name("loads")), args=[arg]
        )

    def _made_by_dumps(self, value: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """Is `value` json.dumps(...), or a local name one of whose values is?"""
        if isinstance(value, cst.Call):
            return self._qualified(value.func) == "json.dumps"
        if not isinstance(value, cst.Name):
            return False
        for assignment in self._local_assignments(value, function) or ():
            assigned = self._assigned_value(assignment.node)
            if isinstance(assigned, cst.Call) and self._qualified(assigned.func) == "json.dumps":
                return True
        return False

    def _written_with_json(self, call: cst.Call, function: cst.FunctionDef) -> str | None:
        """Why `call`'s text may be JSON this module wrote with json.dump()/json.dumps()
        (NaN, Infinity: orjson rejects them), or None. Text read from a request or a
        response body comes from outside; anything else (a file, a cache, an attribute)
        may be what a writer of the same class or module stored."""
        if self._external(call.args[0].value, function):
            return None
        writers = self._json_writers()
        if not writers:
            return None
        owner = self._class_of(function)
        mine = [w for w in writers if owner is not None and w.owner is owner]
        # The nearest writer: the same class, else a function of the module.
        writer = (mine or [w for w in writers if w.owner is None] or writers)[0]
        where = (
            f"`{writer.where}` in the same class" if mine else f"`{writer.where}` in this module"
        )
        return (
            f"{where} writes JSON with {writer.name}(), which writes NaN and Infinity; this "
            "text may be what it wrote, and orjson.loads() rejects them"
        )

    def _external(self, value: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """`await <x>.body()` and the like (or a local name bound only to one): text that
        comes from a client or a server, not from this module's json writers."""
        if isinstance(value, cst.Name):
            assignments = self._local_assignments(value, function)
            return bool(assignments) and all(
                (assigned := self._assigned_value(a.node)) is not None
                and self._external(assigned, function)
                for a in assignments or ()
            )
        return (
            isinstance(value, cst.Await)
            and isinstance(value.expression, cst.Call)
            and isinstance(value.expression.func, cst.Attribute)
            and value.expression.func.attr.value in _BODY_READS
        )

    def _class_of(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        block = self._parent(function)
        owner = self._parent(block) if isinstance(block, cst.IndentedBlock) else None
        return owner if isinstance(owner, cst.ClassDef) else None

    def _json_writers(self) -> list[_JsonWriter]:
        """The module's json.dump()/json.dumps() calls whose text may be stored: not one
        handed straight to a response, nor one with allow_nan=False. Found once."""
        if self._writers is None:
            self._writers = []
            if self._module is not None:
                self._find_writers(self._module, None, "<module>", self._writers)
        return self._writers

    def _find_writers(
        self,
        node: cst.CSTNode,
        owner: cst.ClassDef | None,
        where: str,
        found: list[_JsonWriter],
    ) -> None:
        for child in node.children:
            if isinstance(child, cst.ClassDef):
                self._find_writers(child, child, child.name.value, found)
                continue
            if isinstance(child, cst.FunctionDef):
                name = child.name.value if owner is None else f"{where}.{child.name.value}"
                self._find_writers(child, owner, name, found)
                continue
            writer = self._stores_json(child) if isinstance(child, cst.Call) else None
            if writer is not None:
                found.append(_JsonWriter(writer, where, owner))
            self._find_writers(child, owner, where, found)

    def _stores_json(self, call: cst.Call) -> str | None:
        """json.dump or json.dumps for such a call whose text may be stored, else None."""
        name = self._qualified(call) if _callee(call) in ("dump", "dumps") else None
        if name not in ("json.dump", "json.dumps"):
            return None
        allow_nan = _argument(call, None, "allow_nan")
        if allow_nan is not None and _literal(allow_nan.value) is False:
            return None  # json raises on NaN instead of writing it
        arg = self._parent(call)
        response = self._parent(arg) if isinstance(arg, cst.Arg) else None
        if (
            isinstance(response, cst.Call)
            and self._qualified(response) in _STARLETTE_RESPONSE | _AIOHTTP_RESPONSE
        ):
            return None  # sent, not stored
        return name

    def _broad_except(self, call: cst.Call, function: cst.FunctionDef) -> str | None:
        """orjson rejects input json.loads accepts; a broad `except` around the call would
        handle that as any error, silently (`except Exception: return {}` makes a store look
        empty, and the next write makes the loss permanent)."""
        node: cst.CSTNode | None = call
        while node is not None and node is not function:
            parent = self._parent(node)
            if isinstance(parent, cst.Try) and node is parent.body:
                for handler in parent.handlers:
                    caught = _broad(handler.type)
                    if caught is not None:
                        return (
                            f"it sits under `except{caught}`: input json.loads() accepts "
                            "and orjson.loads() rejects (NaN, Infinity, a byte order mark, "
                            "lone surrogates) would be handled there as an error, with no "
                            "trace of why"
                        )
            node = parent
        return None

    # -- AF104: to a worker thread --------------------------------------------------------

    def _pandas_receiver(self, node: cst.BaseExpression, function: cst.FunctionDef) -> str | None:
        """None when `node` is known to be a pandas object local to `function`; else why not."""
        text = cst.Module([]).code_for_node(node)
        if isinstance(node, cst.Call) and self._qualified(node) in _PANDAS_MAKERS:
            return None
        unknown = (
            f"cannot tell that `{text}` is a pandas DataFrame or Series (known from an "
            "annotation, a pandas constructor or a pandas.read_* result)"
        )
        if not isinstance(node, cst.Name):
            return unknown
        assignments = self._local_assignments(node, function)
        if assignments is None:
            return (
                f"`{text}` is not a name local to this function: other tasks could change "
                "it while a worker thread works on it"
            )
        for assignment in assignments:
            if not self._makes_pandas(assignment.node):
                return unknown
        return None

    def _makes_pandas(self, target: cst.CSTNode) -> bool:
        if isinstance(target, cst.Param):
            annotation = target.annotation
            return (
                annotation is not None and self._qualified(annotation.annotation) in _PANDAS_TYPES
            )
        parent = self._parent(target)
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return self._qualified(parent.annotation.annotation) in _PANDAS_TYPES
        value = self._assigned_value(target)
        if isinstance(value, cst.Await) and isinstance(value.expression, cst.Call):
            # The result of our own rewrite: await asyncio.to_thread(pd.read_csv, ...)
            call = value.expression
            if self._qualified(call) == "asyncio.to_thread" and call.args and not call.args[0].star:
                return self._qualified(call.args[0].value) in _PANDAS_MAKERS
        return isinstance(value, cst.Call) and self._qualified(value) in _PANDAS_MAKERS

    def _local_file(self, arg: cst.Arg | None, function: cst.FunctionDef) -> str | None:
        """None when `arg` is a file opened with open() in `function`; else why not."""
        if arg is None or arg.star:
            return "the file argument is unusual"
        node = arg.value
        if isinstance(node, cst.Call) and self._qualified(node) == "builtins.open":
            return None
        text = cst.Module([]).code_for_node(node)
        reason = (
            f"cannot tell that `{text}` is a file opened here with open(): another task "
            "could use the same object while a worker thread does"
        )
        if not isinstance(node, cst.Name):
            return reason
        assignments = self._local_assignments(node, function)
        if assignments is None or not all(self._opens_file(a.node) for a in assignments):
            return reason
        return None

    def _opens_file(self, target: cst.CSTNode) -> bool:
        """Is `target` the name in `with open(...) as target:`?"""
        asname = self._parent(target)
        item = self._parent(asname) if isinstance(asname, cst.AsName) else None
        with_ = self._parent(item) if isinstance(item, cst.WithItem) else None
        return (
            isinstance(item, cst.WithItem)
            and isinstance(with_, cst.With)
            and with_.asynchronous is None
            and isinstance(item.item, cst.Call)
            and self._qualified(item.item) == "builtins.open"
        )

    def _local_payload(self, node: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """Local names and literals (in displays): nothing another task holds too."""
        if isinstance(node, cst.Name) and node.value not in ("True", "False", "None"):
            return self._local_assignments(node, function) is not None
        if isinstance(node, cst.List | cst.Tuple | cst.Set):
            return all(
                isinstance(e, cst.Element) and self._local_payload(e.value, function)
                for e in node.elements
            )
        if isinstance(node, cst.Dict):
            return all(
                isinstance(e, cst.DictElement)
                and self._local_payload(e.key, function)
                and self._local_payload(e.value, function)
                for e in node.elements
            )
        return _only_str_keys(node)

    def _offload_target(
        self, call: cst.Call, name: str | None, function: cst.FunctionDef
    ) -> tuple[str, str | None] | None:
        """(what is called, why it is not rewritten) for an AF104 candidate, else None."""
        if name in _PANDAS_READERS:
            return f"{name}()", None
        if name in _JSON_FILE_IO:
            label = f"{name}() on a file"
            if name == "json.load":
                return label, self._local_file(_argument(call, 0, "fp"), function)
            obj = _argument(call, 0, "obj")
            if obj is None or obj.star or not self._local_payload(obj.value, function):
                return label, (
                    "the object to write is not a local name: other tasks could change it "
                    "while a worker thread serializes it"
                )
            return label, self._local_file(_argument(call, 1, "fp"), function)
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _PANDAS_METHODS
            and self._imports_pandas
        ):
            return f"pandas {func.attr.value}()", self._pandas_receiver(func.value, function)
        return None

    def _leave_offload(
        self, original: cst.Call, updated: cst.Call, name: str | None
    ) -> cst.BaseExpression:
        found = self._on_loop(original)
        if found is None:
            return updated
        scope, where = found
        assert where.function is not None
        target = self._offload_target(original, name, where.function)
        if target is None:
            return updated
        label, reason = target
        message = f"{label} is CPU-heavy work on the event loop"
        asyncio = module_name_at(scope, "asyncio", "to_thread")
        python = missing(self.run.config, ASYNCIO_TO_THREAD, self.run.path)
        if reason is not None:
            pass
        elif where.in_generator_expression:
            reason = _IN_GENEXP
        elif inside_sync_lock(self._statements, where.function):
            reason = _UNDER_LOCK
        elif split := split_section(where.function, scope, original):
            reason = split
        elif python is not None:
            reason = python
        elif asyncio is None:
            reason = _ASYNCIO_TAKEN
        if reason is not None or asyncio is None:
            self.report(original, "AF104", message, reason=reason)
            return updated
        if not self.report(original, "AF104", message + "; use await asyncio.to_thread()"):
            return updated
        asyncio.add_import(self.context)
        parent = self._parent(original)
        return make_await(
            to_thread_call(asyncio, updated), as_primary=is_primary_operand(parent, original)
        )

    # -- dispatch -------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._strip:
            # `json.dumps(x).encode()` whose json.dumps is now orjson.dumps (bytes already).
            assert isinstance(updated_node.func, cst.Attribute)
            inner = updated_node.func.value
            return inner.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        if _callee(original_node) not in self._names:
            return updated_node
        name = self._qualified(original_node)
        if name == "json.dumps":
            return self._leave_dumps(original_node, updated_node)
        if name == "json.loads":
            return self._leave_loads(original_node, updated_node)
        if name in _STARLETTE_RESPONSE:
            return self._leave_response(original_node, updated_node)
        if name in _JSON_RESPONSE:
            return self._leave_json_response(original_node, updated_node)
        return self._leave_offload(original_node, updated_node, name)


CODEMODS = (Serializer,)
