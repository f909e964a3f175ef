"""What each rule of the family matches, described once: the qualified names of the calls
it acts on (`CallSites`). Its stdlib-ast prescreen, its libcst screen and its transform
all read the same description, so a rule's matching changes in one place: the tables are
in `blocking_apis`. This module is the ast side and imports no libcst (a prescreen runs
before any libcst import); `sites_cst` reads the same description on libcst's tree."""

from __future__ import annotations

import ast
from dataclasses import dataclass

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
