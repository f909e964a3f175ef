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

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from asyncfix import syntax
from asyncfix.codemods.serializer._shared import callee
from asyncfix.codemods.serializer.dumps import AF101, AF103, DumpsRules
from asyncfix.codemods.serializer.loads import AF102, LoadsRule
from asyncfix.codemods.serializer.offload import AF104, OffloadRule
from asyncfix.codemods.serializer.screen import screen_names, screen_serializer
from asyncfix.codemods.serializer.sites import DUMPS, JSON_BODY, LOADS, RESPONSE, SITES


class Serializer(DumpsRules, LoadsRule, OffloadRule):
    """The family's one codemod: the screens, and `leave_Call` handing each call to the
    rule mixin that owns its kind in `SITES` (json.dumps/Response/JSONResponse, json.loads,
    to a worker thread)."""

    NAME = "serializer"
    FAMILY = "serializer"
    RULES = (AF101, AF102, AF103, AF104)
    TRIGGERS = (b"async",)
    # ... and one of these (a site's module, or JSONResponse), as data: a manifest of the
    # registry can state the byte rule without importing the codemod.
    TRIGGERS_ANY = (b"json", b"JSON", b"pandas")
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    # Every site is a call made directly in an async def (see `_on_loop`).
    # (annotated: mypy reads a bare staticmethod as the base class's bound Callable)
    SCREEN = staticmethod(screen_serializer)

    def screen(self, module: cst.Module) -> bool:
        if module is self.run.original:
            tree = self.run.syntax_tree()
        else:  # a tree another codemod rewrote: its ast, made once for every screen
            tree = self.run.tree_of(module)
            if tree is None:
                return False  # cannot be screened (too deep for ast): left as it is
        if tree is None:
            try:  # a tree another codemod rewrote: still cheaper than a libcst walk
                tree = syntax.parse(module.code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False  # cannot be screened (too deep for ast): left as it is
        self._names, self._imports_pandas = screen_names(tree)
        return bool(self._names)

    # -- dispatch -------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._strip:
            # `json.dumps(x).encode()` whose json.dumps is now orjson.dumps (bytes already).
            assert isinstance(updated_node.func, cst.Attribute)
            inner = updated_node.func.value
            return inner.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        if callee(original_node) not in self._names:
            return updated_node
        name = self._qualified(original_node)
        kind = SITES.kind(name)
        if kind == DUMPS:
            return self._leave_dumps(original_node, updated_node)
        if kind == LOADS:
            return self._leave_loads(original_node, updated_node)
        if kind == RESPONSE:
            return self._leave_response(original_node, updated_node)
        if kind == JSON_BODY:
            return self._leave_json_response(original_node, updated_node)
        return self._leave_offload(original_node, updated_node, name)


CODEMODS = (Serializer,)
