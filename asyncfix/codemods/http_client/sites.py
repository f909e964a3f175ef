"""What each rule of the family matches, described once: the qualified names of the calls
it acts on (`CallSites`). Its stdlib-ast prescreen, its libcst screen and its transform
all read the same description, so a rule's matching changes in one place: the tables are
in `blocking_apis`."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.http_client._shared import qualified_names
from asyncfix.codemods.http_client.screen import calls_in, imports_module, may_call


@dataclass(frozen=True)
class CallSites:
    """The calls a rule acts on: those whose qualified name is one of `qualnames`."""

    qualnames: frozenset[str]

    @property
    def modules(self) -> frozenset[str]:
        """The top-level modules the sites come from (`requests` for `requests.get`)."""
        return frozenset(q.split(".", 1)[0] for q in self.qualnames)

    @property
    def last_names(self) -> frozenset[str]:
        """How a site's call may end when written (`get` for `requests.get`)."""
        return frozenset(q.rsplit(".", 1)[-1] for q in self.qualnames)

    # -- on the stdlib ast, before libcst parses: conservative -------------------------------

    def may_occur(self, tree: ast.Module, within: type[ast.AST] | None = None) -> bool:
        """Could a call in `tree` (inside a `within` def) be a site, through the imports?"""
        return may_call(tree, self.qualnames, within)

    def may_be_spelt(self, tree: ast.Module, within: type[ast.AST] | None = None) -> bool:
        """Looser: `tree` imports a site's module and calls a name spelt as a site's ends
        (inside a `within` def). For rules that also follow a site's result through a
        variable (a session's `s.get(...)`)."""
        if not any(imports_module(tree, module) for module in sorted(self.modules)):
            return False
        names = self.last_names
        return any(
            (isinstance(call.func, ast.Attribute) and call.func.attr in names)
            or (isinstance(call.func, ast.Name) and call.func.id in names)
            for call in calls_in(tree, within)
        )

    # -- on the libcst tree ----------------------------------------------------------------

    def spelt_in(self, module: cst.Module) -> bool:
        """Does `module` call a name spelt as a site's ends (`x.sleep()`, `sleep()`)?"""
        names = self.last_names
        return bool(
            m.findall(
                module,
                m.Call(
                    func=m.Attribute(attr=m.Name(m.MatchIfTrue(names.__contains__)))
                    | m.Name(m.MatchIfTrue(names.__contains__))
                ),
            )
        )

    def names_of(self, codemod: AsyncfixCodemod, node: cst.CSTNode) -> list[str]:
        """The sites' qualified names `node` has, as libcst resolves it, sorted."""
        return sorted(qualified_names(codemod, node) & self.qualnames)
