"""The call sites of a rule (`sites.CallSites`) on libcst's tree: its screen and its
transform read the description its prescreen reads on Python's ast."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.http_client._shared import qualified_names
from asyncfix.codemods.http_client.sites import CallSites


def spelt_in(sites: CallSites, module: cst.Module) -> bool:
    """Does `module` call a name spelt as a site's ends (`x.sleep()`, `sleep()`)?"""
    names = sites.last_names
    return bool(
        m.findall(
            module,
            m.Call(
                func=m.Attribute(attr=m.Name(m.MatchIfTrue(names.__contains__)))
                | m.Name(m.MatchIfTrue(names.__contains__))
            ),
        )
    )


def names_of(sites: CallSites, codemod: AsyncfixCodemod, node: cst.CSTNode) -> list[str]:
    """The sites' qualified names `node` has, as libcst resolves it, sorted."""
    return sorted(qualified_names(codemod, node) & sites.qualnames)
