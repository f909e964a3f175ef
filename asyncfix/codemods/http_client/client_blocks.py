"""The statements whose requests calls now use a client of their own, each wrapped in
`async with <client> as <name>:`, and aiohttp's response bodies read while its client is
open (its reads are lazy)."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import Scope, ScopeProvider

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.helpers import module_name_at
from asyncfix.codemods.http_client.options import HttpOptions, async_client


def _read_line(name: str) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Expr(cst.parse_expression(f"await {name}.read()"))])


class ClientBlocks:
    """The client of each statement a codemod converts, and the bodies read after it."""

    def __init__(self, codemod: AsyncfixCodemod, options: HttpOptions) -> None:
        self._codemod = codemod
        self._options = options
        self._clients: dict[cst.CSTNode, str] = {}  # original statement -> client name
        self._reads: dict[cst.CSTNode, list[str]] = {}  # aiohttp: responses to read
        self._shared_reads: dict[cst.CSTNode, list[str]] = {}  # shared client, aiohttp

    def client_for(self, statement: cst.CSTNode, scope: Scope) -> str:
        """The name of the client the statement's calls use (one per statement)."""
        client = self._clients.get(statement) or self._fresh_name(scope)
        self._clients[statement] = client
        return client

    def read_after(self, statement: cst.CSTNode, response: str, *, shared: bool) -> None:
        """aiohttp: read `response`'s body after the call, in the client's block or, with
        the app's shared client, after the statement."""
        reads = self._shared_reads if shared else self._reads
        reads.setdefault(statement, []).append(response)

    def _fresh_name(self, scope: Scope) -> str:
        # Each client lives in its own `async with`, so one name serves every statement;
        # it only must not be a name the function already uses.
        base = "session" if self._options.family == "aiohttp" else "client"
        for candidate in (base, f"http_{base}", *(f"{base}{i}" for i in range(2, 100))):
            if candidate not in scope:
                return candidate
        return f"{base}_asyncfix"

    def wrap(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        """The statement in its client's `async with`, or followed by its reads."""
        client = self._clients.get(original_node)
        if client is None:
            reads = self._shared_reads.get(original_node)
            if not reads:
                return updated_node
            # aiohttp reads the body lazily; read it now so the connection goes back.
            lines = [_read_line(name) for name in reads]
            return cst.FlattenSentinel([updated_node, *lines])
        scope = self._codemod.get_metadata(ScopeProvider, original_node, None)
        module = module_name_at(scope, self._options.library) if scope is not None else None
        assert module is not None  # checked when the call was converted
        body: list[cst.BaseStatement] = [updated_node.with_changes(leading_lines=[])]
        # aiohttp reads the body lazily: read it while the session is open.
        body.extend(_read_line(name) for name in self._reads.get(original_node, []))
        client_expression = async_client(self._options, module.name, pooled=False)
        return cst.With(
            items=[cst.WithItem(client_expression, asname=cst.AsName(cst.Name(client)))],
            body=cst.IndentedBlock(body),
            asynchronous=cst.Asynchronous(),
            leading_lines=updated_node.leading_lines,
        )
