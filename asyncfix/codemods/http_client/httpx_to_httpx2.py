"""AF206 (opt-in): the imports of httpx name httpx2, its maintained successor."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.codemods.http_client.screens import screen_httpx_to_httpx2

AF206 = Rule(
    code="AF206",
    name="httpx-to-httpx2",
    summary="(opt-in: select AF206 by code) import httpx -> httpx2",
    why=(
        "httpx is no longer maintained (flake8-async's ASYNC127 flags it); httpx2 is its "
        "maintained successor with the same API, and Starlette 1.x's TestClient prefers it."
    ),
    fix=(
        "`import httpx` -> `import httpx2 as httpx` (every use keeps working unchanged), "
        "`import httpx as hx` -> `import httpx2 as hx`, `from httpx import X` -> `from httpx2 "
        "import X`. Imports of httpx's submodules are reported. Runs only when AF206 is "
        "selected by its code."
    ),
    before="import httpx\n\nclient = httpx.AsyncClient()\n",
    after="import httpx2 as httpx\n\nclient = httpx.AsyncClient()\n",
)


class HttpxToHttpx2(AsyncfixCodemod):
    """AF206, opt-in: the imports of httpx now name httpx2 (same API, maintained)."""

    NAME = "httpx-to-httpx2"
    FAMILY = "http_client"
    RULES = (AF206,)
    TRIGGERS = (b"httpx",)

    SCREEN = staticmethod(screen_httpx_to_httpx2)

    def screen(self, module: cst.Module) -> bool:
        return "AF206" in self.run.config.select  # opt-in: only when selected by its code

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        names = []
        for original, alias in zip(original_node.names, updated_node.names, strict=True):
            name = get_full_name_for_node(alias.name)
            if name is not None and name.startswith("httpx."):
                self.report(
                    original, "AF206", "import of httpx", reason="httpx's submodules are private"
                )
            if name != "httpx" or not self.report(original, "AF206", "import httpx -> httpx2"):
                names.append(alias)
                continue
            asname = alias.asname or cst.AsName(cst.Name("httpx"))
            names.append(alias.with_changes(name=cst.Name("httpx2"), asname=asname))
            self.require_package("httpx2")
        return updated_node.with_changes(names=names)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if updated_node.relative or updated_node.module is None:
            return updated_node
        name = get_full_name_for_node(updated_node.module)
        if name is not None and name.startswith("httpx."):
            self.report(
                original_node, "AF206", "import of httpx", reason="httpx's submodules are private"
            )
            return updated_node
        if name != "httpx" or not self.report(original_node, "AF206", "from httpx -> httpx2"):
            return updated_node
        self.require_package("httpx2")
        return updated_node.with_changes(module=cst.Name("httpx2"))
