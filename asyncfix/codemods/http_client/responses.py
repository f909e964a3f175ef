"""How a requests response is used after the call, and those uses rewritten for the
target client: `.ok` (httpx: `not .is_error`), and aiohttp's `.status` and bodies read
with an await. A use the target cannot keep (requests-only attributes, a response passed
on) is the reason the call is left as it is."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import Assignment, ParentNodeProvider, Scope

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.helpers import is_primary_operand, make_await, parenthesize
from asyncfix.codemods.http_client._shared import awaitable_in, here, keyword_arg
from asyncfix.codemods.http_client.options import HttpOptions

_PASSED_ON = (
    "the response is passed on (returned, stored or given to a call); code elsewhere may "
    "use requests-only attributes"
)


@dataclass
class ResponseUse:
    """How a response is used afterwards, and the rewrites that keeps it working."""

    fixes: dict[cst.CSTNode, str] = field(default_factory=dict)  # original node -> kind
    read: str | None = None  # aiohttp: `await <name>.read()` inside the client block
    references: list[cst.Name] = field(default_factory=list)
    reason: str | None = None

    @property
    def awaited(self) -> list[cst.CSTNode]:
        """The uses that become awaits (`.json()`, `.text`, `.content`)."""
        return [node for node, kind in self.fixes.items() if kind not in ("ok", "status_code")]


class ResponseUses:
    """The uses of the responses of the calls a codemod rewrites: found per call (`of`),
    kept once the call is rewritten (`adopt`), rewritten as the visit leaves them."""

    def __init__(self, codemod: AsyncfixCodemod, options: HttpOptions) -> None:
        self._codemod = codemod
        self._options = options
        self.fixes: dict[cst.CSTNode, str] = {}  # original response attribute -> kind
        self.raising: set[cst.CSTNode] = set()  # response references that may raise

    def _attribute_use(self, attribute: cst.Attribute, use: ResponseUse, in_loop: bool) -> None:
        attr = attribute.attr.value
        parent = self._codemod.get_metadata(ParentNodeProvider, attribute, None)
        called = isinstance(parent, cst.Call) and parent.func is attribute
        if attr in ("json", "raise_for_status") and not called:
            use.reason = f"`.{attr}` is used without being called"
        elif attr == "iter_content":
            use.reason = "r.iter_content() streams; the async client needs client.stream() for that"
        elif self._options.family == "httpx":
            if attr == "ok":
                use.fixes[attribute] = "ok"
            elif attr not in (
                "json",
                "text",
                "content",
                "status_code",
                "headers",
                "raise_for_status",
            ):
                use.reason = f"`.{attr}` has a different name or type in {self._options.library}"
        elif attr in ("headers", "ok", "raise_for_status"):
            pass
        elif attr in ("status_code", "text", "content", "json"):
            if attr != "status_code" and not in_loop:
                use.reason = f"`.{attr}` is read where it cannot be awaited"
            elif attr == "json" and isinstance(parent, cst.Call) and parent.args:
                use.reason = "aiohttp's json() takes other arguments"
            elif attr == "json" and isinstance(parent, cst.Call):
                use.fixes[parent] = attr
            else:
                use.fixes[attribute] = attr
        else:
            use.reason = f"`.{attr}` has a different name or type in aiohttp"

    def of(self, call: cst.Call, scope: Scope) -> ResponseUse:
        """How the response of `call` (in `scope`) is used, and whether that can be kept."""
        use = ResponseUse()
        parent = self._codemod.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Attribute) and parent.value is call:
            self._attribute_use(parent, use, in_loop=True)
            return use
        if isinstance(parent, cst.Expr):
            return use
        if not (
            isinstance(parent, cst.Assign)
            and len(parent.targets) == 1
            and isinstance(parent.targets[0].target, cst.Name)
        ):
            use.reason = _PASSED_ON
            return use
        target = parent.targets[0].target
        assignment = next(
            (a for a in scope.assignments[target.value] if getattr(a, "node", None) is target),
            None,
        )
        if not isinstance(assignment, Assignment):
            use.reason = _PASSED_ON
            return use
        start = here(self._codemod, call)
        for ref in assignment.references:
            where = here(self._codemod, ref.node)
            if len(ref.referents) > 1:
                use.reason = f"`{target.value}` may also hold another value where it is used"
            elif (
                start is None
                or where is None
                or (where.start.line, where.start.column)
                < (
                    start.start.line,
                    start.start.column,
                )
            ):
                use.reason = f"`{target.value}` is used before the call (in a loop?)"
            else:
                node = ref.node
                ref_parent = self._codemod.get_metadata(ParentNodeProvider, node, None)
                if isinstance(ref_parent, cst.Attribute) and ref_parent.value is node:
                    self._attribute_use(ref_parent, use, in_loop=awaitable_in(ref.scope, scope))
                    if isinstance(node, cst.Name):
                        use.references.append(node)
                else:
                    use.reason = _PASSED_ON
            if use.reason:
                return use
        if self._options.family == "aiohttp" and use.references:
            use.read = target.value
        return use

    def adopt(self, use: ResponseUse) -> None:
        """The call is rewritten: so are these uses of its response."""
        self.fixes.update(use.fixes)
        self.raising.update(use.references)

    def json_call(
        self, original_node: cst.Call, updated_node: cst.Call
    ) -> cst.BaseExpression | None:
        """aiohttp: `await r.json(content_type=None)`, which skips its MIME check."""
        if self.fixes.get(original_node) != "json":
            return None
        call = updated_node.with_changes(args=[keyword_arg("content_type", cst.Name("None"))])
        parent = self._codemod.get_metadata(ParentNodeProvider, original_node, None)
        return make_await(call, as_primary=is_primary_operand(parent, original_node))

    def rewrite_attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        """`.ok` -> `not .is_error` (httpx); aiohttp's `.status`, awaited `.text()`/`.read()`."""
        kind = self.fixes.get(original_node)
        if kind is None or kind == "json":
            return updated_node
        parent = self._codemod.get_metadata(ParentNodeProvider, original_node, None)
        if kind == "ok":
            negated = cst.UnaryOperation(
                cst.Not(), updated_node.with_changes(attr=cst.Name("is_error"))
            )
            # `not` binds more loosely than comparisons, arithmetic and primaries.
            tight = cst.Comparison | cst.BinaryOperation | cst.Attribute | cst.Subscript | cst.Await
            if isinstance(parent, tight) or (
                isinstance(parent, cst.UnaryOperation) and not isinstance(parent.operator, cst.Not)
            ):
                return parenthesize(negated)
            return negated
        if kind == "status_code":
            return updated_node.with_changes(attr=cst.Name("status"))
        method = "text" if kind == "text" else "read"
        call = cst.Call(updated_node.with_changes(attr=cst.Name(method)))
        return make_await(call, as_primary=is_primary_operand(parent, original_node))

    def unnegate(
        self, original_node: cst.UnaryOperation, updated_node: cst.UnaryOperation
    ) -> cst.BaseExpression:
        """`not r.ok` -> `r.is_error`, not `not not r.is_error`."""
        inner = updated_node.expression
        if (
            isinstance(original_node.operator, cst.Not)
            and self.fixes.get(original_node.expression) == "ok"
            and isinstance(inner, cst.UnaryOperation)
        ):
            return inner.expression.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        return updated_node
