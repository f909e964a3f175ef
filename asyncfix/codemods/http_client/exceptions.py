"""`except requests.<Exception>` around converted calls mapped onto the exceptions the
target client raises in their place; a handler that cannot be mapped exactly (an
exception with no equivalent, an attribute the target's lacks) keeps its calls as they
are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.helpers import module_name_at, remove_import_if_unused
from asyncfix.codemods.http_client._shared import client_module, qualified_names
from asyncfix.codemods.http_client.options import HttpOptions

# requests exception (last name) -> the target's exceptions that are raised in its place.
_EXCEPTIONS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "httpx": {
        "RequestException": ("HTTPError",),
        "HTTPError": ("HTTPStatusError",),
        "Timeout": ("TimeoutException",),
        "ConnectTimeout": ("ConnectTimeout",),
        "ReadTimeout": ("ReadTimeout",),
        # requests' ConnectTimeout is also a ConnectionError; httpx's is not a ConnectError.
        "ConnectionError": ("ConnectError", "ConnectTimeout"),
        "TooManyRedirects": ("TooManyRedirects",),
    },
    "aiohttp": {
        "RequestException": ("ClientError",),
        "HTTPError": ("ClientResponseError",),
        "Timeout": ("ServerTimeoutError",),
        "ConnectTimeout": ("ConnectionTimeoutError",),
        "ConnectionError": ("ClientConnectorError", "ConnectionTimeoutError"),
    },
}


@dataclass
class _TryState:
    node: cst.Try
    in_body: bool = False
    converted: int = 0
    left: int = 0  # requests calls in its body that stay as they are
    refusal: str | None = None


class ExceptMapping:
    """The `try` statements open around the codemod's visit, and their handlers mapped
    when a requests call in their body is converted."""

    def __init__(self, codemod: AsyncfixCodemod, options: HttpOptions) -> None:
        self._codemod = codemod
        self._options = options
        self.tries: list[_TryState] = []

    def enter(self, node: cst.Try) -> None:
        self.tries.append(_TryState(node, refusal=self.handlers_refusal(node)))

    def handlers_refusal(self, node: cst.Try) -> str | None:
        """Why the `except requests.*` clauses of `node` cannot be mapped, if they cannot."""
        exceptions = _EXCEPTIONS[self._options.family]
        has_json = bool(m.findall(node.body, m.Call(func=m.Attribute(attr=m.Name("json")))))
        for handler in node.handlers:
            for element in self._handler_types(handler):
                name = self._requests_exception(element)
                if name is None:
                    continue
                if name not in exceptions:
                    return (
                        f"`except requests.{name}` has no exact {self._options.library} equivalent"
                    )
                if name == "RequestException" and has_json:
                    return (
                        "`except requests.RequestException` also catches r.json() decoding "
                        f"errors, which {self._options.library} raises as ValueError"
                    )
                unknown = self._exception_attributes(handler, name)
                if unknown:
                    return (
                        f"the handler reads `.{unknown}` of the exception, which "
                        f"{self._options.library}'s {exceptions[name][0]} does not have"
                    )
        return None

    def _exception_attributes(self, handler: cst.ExceptHandler, name: str) -> str | None:
        """An attribute of the caught exception the target's exception does not have."""
        if handler.name is None or not isinstance(handler.name.name, cst.Name):
            return None
        bound = handler.name.name.value
        allowed: set[str] = set()
        if self._options.family == "httpx":
            allowed = {"request", "response"} if name == "HTTPError" else {"request"}
        for node in m.findall(handler.body, m.Attribute(value=m.Name(bound))):
            if isinstance(node, cst.Attribute) and node.attr.value not in allowed:
                return node.attr.value
        return None

    def enter_body(self) -> None:
        self.tries[-1].in_body = True

    def leave_body(self) -> None:
        self.tries[-1].in_body = False

    def leave(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        state = self.tries.pop()
        if not state.converted or state.refusal:
            return updated_node
        handlers = [
            self._map_handler(old, new, keep=bool(state.left))
            for old, new in zip(original_node.handlers, updated_node.handlers, strict=True)
        ]
        return updated_node.with_changes(handlers=handlers)

    def _handler_types(self, handler: cst.ExceptHandler) -> list[cst.BaseExpression]:
        if handler.type is None:
            return []
        if isinstance(handler.type, cst.Tuple):
            return [e.value for e in handler.type.elements]
        return [handler.type]

    def _requests_exception(self, node: cst.BaseExpression) -> str | None:
        for name in qualified_names(self._codemod, node):
            for prefix in ("requests.exceptions.", "requests."):
                if name.startswith(prefix) and "." not in name.removeprefix(prefix):
                    return name.removeprefix(prefix)
        return None

    def _map_handler(
        self, original: cst.ExceptHandler, updated: cst.ExceptHandler, *, keep: bool
    ) -> cst.ExceptHandler:
        scope = self._codemod.get_metadata(ScopeProvider, original, None)
        if original.type is None or scope is None:
            return updated
        module = module_name_at(scope, self._options.library)
        if module is None:
            return updated
        elements: list[cst.BaseExpression] = []
        changed = False
        for old in self._handler_types(original):
            name = self._requests_exception(old)
            if name is None:
                elements.append(old)
                continue
            changed = True
            if keep:
                elements.append(old)  # other requests calls in the body still raise these
            else:
                remove_import_if_unused(self._codemod.context, scope, old)
            for target in _EXCEPTIONS[self._options.family][name]:
                elements.append(cst.Attribute(cst.Name(module.name), cst.Name(target)))
        if not changed:
            return updated
        client_module(self._codemod, scope, self._options.library)
        unique: list[cst.BaseExpression] = []
        for e in elements:
            if not any(e.deep_equals(u) for u in unique):
                unique.append(e)
        if len(unique) == 1:
            new_type: cst.BaseExpression = unique[0].with_changes(lpar=[], rpar=[])
        else:
            new_type = cst.Tuple(
                [
                    cst.Element(e, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                    for e in unique[:-1]
                ]
                + [cst.Element(unique[-1])]
            )
        whitespace = updated.whitespace_after_except
        if isinstance(whitespace, cst.SimpleWhitespace) and not whitespace.value:
            whitespace = cst.SimpleWhitespace(" ")
        return updated.with_changes(type=new_type, whitespace_after_except=whitespace)

    def mark(self, converted: bool) -> None:
        """A requests call in the bodies now open is converted, or stays."""
        for state in self.tries:
            if state.in_body:
                if converted:
                    state.converted += 1
                else:
                    state.left += 1

    def refusal(self) -> str | None:
        """Why a requests call here cannot be converted: a try around it that cannot be mapped."""
        for state in self.tries:
            if state.in_body and state.refusal:
                return state.refusal
        return None
