"""AF101 and AF103: json.dumps() and hand-built JSON responses on the event loop."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import Scope, ScopeProvider

from asyncfix.codemods.base import Rule
from asyncfix.codemods.helpers import LoopContext, module_name_at, remove_import_if_unused
from asyncfix.codemods.serializer._shared import (
    ORJSON_TAKEN,
    argument,
    comments,
    is_json_media_type,
    literal,
    small_literal,
)
from asyncfix.codemods.serializer.lookups import DumpsSite, SerializerBase, Sink
from asyncfix.codemods.serializer.orjson_calls import DumpsArgs, map_dumps_arguments, orjson_dumps
from asyncfix.codemods.serializer.sites import AIOHTTP_RESPONSE, CONTENT, STARLETTE_RESPONSE
from asyncfix.versions import ORJSON_OPTIONS, fastapi_target, missing

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


_UTF8 = frozenset({"utf-8", "utf8", "utf_8"})
_TEXT_USED = (
    "its text is used here, not only sent as a JSON response body, and orjson writes "
    "different text (no spaces after , and :, UTF-8 instead of \\u escapes, NaN as null)"
)
_COMMENT_LOST = "a comment inside the call would be lost"


class DumpsRules(SerializerBase):
    """AF101/AF103: json.dumps() calls, the Response around them, and JSONResponse."""

    # -- where a json.dumps result goes --------------------------------------------------

    def _sink(self, arg: cst.CSTNode | None) -> Sink | None:
        """The response that `arg` (an argument) is the body of, if its type is JSON."""
        call = self._parent(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(call, cst.Call) or not isinstance(arg, cst.Arg):
            return None
        name = self._qualified(call)
        if name in STARLETTE_RESPONSE:
            media_type = argument(call, 3, "media_type")
            is_json = media_type is not None and is_json_media_type(media_type.value)
            if is_json and arg is CONTENT.in_cst(call):
                return Sink("any", starlette=True)
        elif name in AIOHTTP_RESPONSE and arg.keyword is not None:
            content_type = argument(call, None, "content_type")
            if content_type is not None and is_json_media_type(content_type.value):
                if arg.keyword.value == "text":
                    return Sink("str", starlette=False)
                if arg.keyword.value == "body":
                    return Sink("bytes", starlette=False)
        return None

    def _sinks(self, text: cst.Call, function: cst.FunctionDef) -> list[Sink] | None:
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

    def _sent_only(self, call: cst.Call, function: cst.FunctionDef) -> bool:
        return self._sinks(self._text(call)[0], function) is not None

    def _text(self, call: cst.Call) -> tuple[cst.Call, cst.Call | None]:
        """(the expression whose value is the dumps text, the `.encode()` call to strip):
        `json.dumps(x).encode()` (utf-8) is bytes: orjson's bytes stand in for all of it."""
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
                or (len(outer.args) == 1 and str(literal(outer.args[0].value)).lower() in _UTF8)
            )
        ):
            text, strip = outer, outer
        return text, strip

    # -- AF101 / AF103: json.dumps --------------------------------------------------------

    def _analyze_dumps(self, call: cst.Call, scope: Scope, where: LoopContext) -> DumpsSite:
        assert where.function is not None
        mapped = map_dumps_arguments(call)
        text, strip = self._text(call)
        sinks = self._sinks(text, where.function)
        route = self.enabled("AF103") and self._is_route(where.function)
        code = "AF103" if route and sinks and all(s.starlette for s in sinks) else "AF101"
        message = "json.dumps() serializes on the event loop"
        if code == "AF103":
            message = "JSON response built with json.dumps() on the event loop"
        site = DumpsSite(code, message, strip_encode=strip)
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
            site.reason = ORJSON_TAKEN
        elif strip is not None and comments(strip) > comments(call):
            site.reason = _COMMENT_LOST
        elif (lacks := self._orjson_lacks(mapped)) is not None:
            site.reason = lacks
        else:
            site.mapped, site.orjson, site.import_orjson = mapped, orjson.name, orjson.needs_import
            site.decode = strip is None and "str" in takes
            if comments(orjson_dumps(call, mapped, orjson.name, decode=False)) < comments(call):
                site.reason = _COMMENT_LOST
            site.orjson_response = (
                site.reason is None
                and code == "AF103"
                and mapped.plain
                and isinstance(self._parent(text), cst.Arg)
                and comments(text) == comments(call.args[mapped.obj].value)
                and fastapi_target(self.run.config, self.run.path).status == "old"
                and self._name_free_or_is(
                    scope, "ORJSONResponse", "fastapi.responses.ORJSONResponse"
                )
            )
        return site

    def _orjson_lacks(self, mapped: DumpsArgs) -> str | None:
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

    def _leave_response(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """AF103 before FastAPI 0.131: Response(content=json.dumps(data)) -> ORJSONResponse."""
        content = CONTENT.in_cst(original)
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
        media_type = argument(original, None, "media_type")
        if (
            media_type is not None
            and literal(media_type.value) == "application/json"
            and not comments(media_type)
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
        content = CONTENT.in_cst(original)
        if not self._is_route(where.function) or content is None or small_literal(content.value):
            return updated
        message = "JSONResponse serializes with the stdlib json on the event loop"
        target = fastapi_target(self.run.config, self.run.path)
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
