"""What the serializer's rules act on, described once, without libcst: the calls by the
one qualified name libcst gives them (`SITES`), the path operations JSONResponse is
rewritten in (`ROUTES`) and the body it sends (`CONTENT`). The stdlib-ast prescreen
(`screen.py`) and the libcst transform (`codemod.py`, `lookups.py`) both read it; the
libcst-side methods import libcst when they are called, always after the transform has."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from asyncfix.codemods.shared.routes import ROUTE_METHODS, route_decorator

if TYPE_CHECKING:
    import libcst as cst

# -- qualified names -------------------------------------------------------------------------

STARLETTE_RESPONSE = frozenset(
    {"starlette.responses.Response", "fastapi.Response", "fastapi.responses.Response"}
)
AIOHTTP_RESPONSE = frozenset({"aiohttp.web.Response", "aiohttp.web_response.Response"})
JSON_RESPONSE = frozenset({"starlette.responses.JSONResponse", "fastapi.responses.JSONResponse"})
FASTAPI_APPS = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.applications.FastAPI",
        "fastapi.APIRouter",
        "fastapi.routing.APIRouter",
    }
)
PANDAS_TYPES = frozenset(
    {
        "pandas.DataFrame",
        "pandas.Series",
        "pandas.core.frame.DataFrame",
        "pandas.core.series.Series",
    }
)
_READERS = ("read_csv", "read_excel", "read_feather", "read_json", "read_parquet", "read_pickle")
PANDAS_READERS = frozenset(f"pandas.{name}" for name in (*_READERS, "read_table"))
PANDAS_MAKERS = PANDAS_TYPES | PANDAS_READERS
PANDAS_METHODS = frozenset({"to_json", "to_dict", "to_csv"})
JSON_FILE_IO = frozenset({"json.dump", "json.load"})
JSON_WRITERS = frozenset({"json.dump", "json.dumps"})  # whose text json.loads may read back


def last_names(qualified: frozenset[str]) -> frozenset[str]:
    """How calls of these qualified names may end when written (`dumps` for `json.dumps`)."""
    return frozenset(name.rsplit(".", 1)[-1] for name in qualified)


# -- the calls -------------------------------------------------------------------------------

# What the transform does with a call, by its qualified name (see Serializer.leave_Call).
DUMPS = "dumps"  # AF101/AF103: json.dumps
LOADS = "loads"  # AF102: json.loads
RESPONSE = "response"  # AF103: a Response around a json.dumps (which acts by itself)
JSON_BODY = "json-response"  # AF103: JSONResponse in a path operation
OFFLOAD = "offload"  # AF104: to a worker thread (and any other call: see `kind`)


@dataclass(frozen=True)
class CallSites:
    """The calls the family's rules act on: by qualified name (`kinds`), and the pandas
    methods by the attribute written, in a module that imports pandas (`methods`)."""

    kinds: Mapping[str, str]  # qualified name -> DUMPS, LOADS, RESPONSE, JSON_BODY, OFFLOAD
    methods: frozenset[str]

    def kind(self, qualified: str | None) -> str:
        """What the transform does with a call of this qualified name: anything unlisted
        may still be a pandas method (`OFFLOAD` decides)."""
        return self.kinds.get(qualified or "", OFFLOAD)

    def named(self, *kinds: str) -> frozenset[str]:
        """The qualified names of these kinds."""
        return frozenset(name for name, kind in self.kinds.items() if kind in kinds)

    @cached_property  # (asked per file and per call: the tables are fixed)
    def acting(self) -> frozenset[str]:
        """How a call that may act is written, by its last name: `dumps`, `to_json`..."""
        return last_names(self.named(DUMPS, LOADS, JSON_BODY, OFFLOAD)) | self.methods

    @cached_property
    def wrapping(self) -> frozenset[str]:
        """How a call that acts only around an acting one is written (`Response`)."""
        return last_names(self.named(RESPONSE))

    @cached_property
    def always(self) -> frozenset[str]:
        """Qualified names the transform acts on wherever they are called on the loop."""
        return self.named(DUMPS, LOADS, OFFLOAD)


SITES = CallSites(
    kinds={
        "json.dumps": DUMPS,
        "json.loads": LOADS,
        **dict.fromkeys(STARLETTE_RESPONSE, RESPONSE),
        **dict.fromkeys(JSON_RESPONSE, JSON_BODY),
        **dict.fromkeys(JSON_FILE_IO | PANDAS_READERS, OFFLOAD),
    },
    methods=PANDAS_METHODS,
)


# -- path operations and the bodies sent -----------------------------------------------------


@dataclass(frozen=True)
class RouteDecorators:
    """`@<app>.<method>(...)`, where `<app>` is a name that a call of `apps` makes."""

    methods: frozenset[str]
    apps: frozenset[str]

    def app_in(self, decorator: ast.expr) -> str | None:
        """The `<app>` name of a stdlib-ast decorator of this shape."""
        method = route_decorator(decorator, self.methods)
        if method is None or not isinstance(method.value, ast.Name):
            return None
        return method.value.id

    def app_in_cst(self, decorator: cst.BaseExpression) -> cst.Name | None:
        """The `<app>` name of a libcst decorator of this shape."""
        import libcst as cst

        func = decorator.func if isinstance(decorator, cst.Call) else None
        if isinstance(func, cst.Attribute) and func.attr.value in self.methods:
            return func.value if isinstance(func.value, cst.Name) else None
        return None


ROUTES = RouteDecorators(ROUTE_METHODS, FASTAPI_APPS)


@dataclass(frozen=True)
class Parameter:
    """A parameter of a call: passed by `keyword`, or at `position`."""

    keyword: str
    position: int

    def in_ast(self, call: ast.Call) -> ast.expr | None:
        """Its value in a stdlib-ast call: a plain positional argument is where it is in
        the source too (no positional argument may follow a keyword or **)."""
        for keyword in call.keywords:
            if keyword.arg == self.keyword:
                return keyword.value
        before = call.args[: self.position + 1]
        if len(before) > self.position and not any(isinstance(a, ast.Starred) for a in before):
            return before[self.position]
        return None

    def in_cst(self, call: cst.Call) -> cst.Arg | None:
        """Its argument in a libcst call."""
        from asyncfix.codemods.serializer._shared import argument

        return argument(call, self.position, self.keyword)


# The body of a Response or a JSONResponse.
CONTENT = Parameter("content", 0)
