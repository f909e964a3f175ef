"""AF303: aiohttp / httpx async clients without explicit pool limits -> the configured ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    FunctionScope,
    ImportAssignment,
    QualifiedNameProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import Rule
from asyncfix.codemods.lifespan._shared import called_in, explode
from asyncfix.codemods.lifespan.family import LifespanCodemod
from asyncfix.codemods.lifespan.screen import POOL_LIMITS, is_test_file, screen_pool_limits
from asyncfix.codemods.shared.lifespan_builder import add_keyword
from asyncfix.codemods.shared.lifespan_sites import POOL_FACTORIES, POOL_OWNERS, POOLS
from asyncfix.codemods.shared.pool_options import (
    IMPLICIT_LIMITS,
    LIMITS,
    configured_options,
    pool_limits,
)
from asyncfix.codemods.speed.metadata import nodes_of
from asyncfix.config import Config
from asyncfix.index import ProjectIndex

AF303 = Rule(
    code="AF303",
    name="pool-without-limits",
    summary="aiohttp / httpx async client without explicit pool limits -> the configured ones",
    why=(
        "aiohttp's default connector has no per-host limit and caches DNS for 10 s; one "
        "slow upstream can take every connection of the worker. Limits you can see are "
        "limits you can tune, per upstream, under load. Only you know the workload: "
        "asyncfix writes the values of your configuration, never a guess."
    ),
    fix=(
        "With [tool.asyncfix.lifespan] (aiohttp-limit, aiohttp-limit-per-host, "
        "aiohttp-ttl-dns-cache, httpx-max-connections, httpx-max-keepalive-connections), "
        "aiohttp.ClientSession() gets connector=aiohttp.TCPConnector(...) and so does a "
        "TCPConnector without any; httpx.AsyncClient() gets limits=httpx.Limits(...). A "
        "value equal to the library's default is not written (nothing at all when every "
        "value is). Without configuration it is a finding that says what the implicit "
        "limits are. An explicit value is never changed, nor completed; a bare "
        "httpx.Limits() (no limit at all) is only reported; a client opened by `with` in "
        "a function (it lives for one call), a custom transport, a **kwargs call, a "
        "connector passed in, and test files are left alone."
    ),
    before=(
        "import httpx\n"
        "\n"
        "\n"
        "def make_client():\n"
        '    return httpx.AsyncClient(base_url="https://api.example")\n'
    ),
    after=(
        "import httpx\n"
        "\n"
        "\n"
        "def make_client():\n"
        '    return httpx.AsyncClient(base_url="https://api.example")\n'
    ),
)
_LINE_LENGTH = 88  # black's


class PoolLimits(LifespanCodemod):
    NAME = POOL_LIMITS
    RULES = (AF303,)
    AFTER = ("lifespan-dispose-engine",)
    TRIGGERS = (b"Client",)
    PLAN_REACH = ()  # (its plan only checks the options)
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider)
    SCREEN = staticmethod(screen_pool_limits)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        configured_options(config)  # fail early on a bad [tool.asyncfix.lifespan]
        return None

    def screen(self, module: cst.Module) -> bool:
        # As screen_pool_limits, on the tree earlier codemods left.
        if is_test_file(self.run.path):
            return False  # a test's client does not starve production traffic
        pending = self.context.scratch.get(AddImportsVisitor.CONTEXT_KEY, [])
        if not POOLS.cst_imported_by(module) and not any(
            item.module_name in POOLS.packages for item in pending
        ):  # (an import an earlier codemod asked for counts: the driver adds it at the end)
            return False
        return called_in(module, POOLS)

    def visit_Module(self, node: cst.Module) -> None:
        self.configured = configured_options(self.run.config)
        self.one_call = self._one_call(node)
        # Calls this codemod laid out on one line, by id; held, so that no later node
        # (a copy made by deep_replace, say) gets the id of one that was freed.
        self.fresh: dict[int, cst.Call] = {}
        self.depth = 0
        self.indent = node.default_indent

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.depth += 1

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self.depth -= 1
        return updated_node

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _spell(self, call: cst.Call, factory: str) -> cst.BaseExpression | None:
        """`aiohttp.TCPConnector` spelled the way this module reaches `call`'s package."""
        package, _, name = factory.rpartition(".")
        if isinstance(call.func, cst.Attribute):
            return cst.Attribute(value=call.func.value, attr=cst.Name(name))
        scope = self.get_metadata(ScopeProvider, call, None)
        if scope is None:
            return None
        if name in scope:
            node = cst.Name(name)
            if all(
                isinstance(a, ImportAssignment)
                and isinstance(a.node, cst.ImportFrom)
                and get_full_name_for_node(cast_module_name(a.node)) == package
                for a in scope[name]
            ):
                return node
            return None
        AddImportsVisitor.add_needed_import(self.context, package, name)
        return cst.Name(name)

    def _one_call(self, module: cst.Module) -> set[int]:
        """Ids of the calls whose pool lives for one call: a client opened by a `with` in
        a function, and a connector made for it alone (`connector = TCPConnector(...)`
        used once, as its `connector=`). Limits there change nothing."""
        values: dict[int, cst.BaseExpression] = {}  # id(assigned Name) -> its value
        # (walks of the fields: matchers tested at every node cost most of the codemod)
        for assign in nodes_of(module, cst.Assign):
            if len(assign.targets) == 1 and type(assign.targets[0].target) is cst.Name:
                values[id(assign.targets[0].target)] = assign.value
        found: set[int] = set()
        for with_node in nodes_of(module, cst.With):
            for item in with_node.items:
                scope = self.get_metadata(ScopeProvider, item.item, None)
                if not isinstance(scope, FunctionScope):
                    continue
                made = [item.item]
                for arg in item.item.args if isinstance(item.item, cst.Call) else ():
                    if m.matches(arg, m.Arg(keyword=m.Name("connector"), value=m.Name())):
                        assignments = list(scope[cst.ensure_type(arg.value, cst.Name).value])
                        only = assignments[0] if len(assignments) == 1 else None
                        if (
                            isinstance(only, Assignment)
                            and len(only.references) == 1
                            and id(only.node) in values
                        ):
                            made.append(values[id(only.node)])
                found.update(id(c) for node in made for c in nodes_of(node, cst.Call))
        return found

    def _implicit(self, call: cst.Call, kind: str, bare_limits: bool) -> None:
        """Report a pool whose limits are the library's, unconfigured: what they are."""
        message = "connection pool without explicit limits"
        if bare_limits:
            reason = (
                "httpx.Limits() without arguments caps nothing; a cap would lower the pool's "
                "concurrency, so asyncfix leaves choosing one to you"
            )
            self.report(call, "AF303", message, reason=reason)
            return
        if any(key in self.configured for key in LIMITS if LIMITS[key][0] == kind):
            return  # configured, and equal to the library's own: nothing to say or write
        keys = ", ".join(key for key, (k, _, _) in LIMITS.items() if k == kind)
        reason = (
            f"its limits are implicit ({IMPLICIT_LIMITS[kind]}); asyncfix writes explicit "
            f"ones only from your workload's values in [tool.asyncfix.lifespan] ({keys})"
        )
        self.report(call, "AF303", message, reason=reason)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        names = self._qualified(original_node.func)
        owner = next((n for n in names if n in POOL_OWNERS), None)
        factory = next((n for n in names if n in POOL_FACTORIES), None)
        if owner is None and factory is None:
            return updated_node
        if any(a.star == "**" for a in original_node.args) or id(original_node) in self.one_call:
            return updated_node  # the limits may be in there / they last for one call
        message = "connection pool without explicit limits"
        present = {a.keyword.value for a in original_node.args if a.keyword is not None}
        if factory is not None:
            kind = POOL_FACTORIES[factory]
            if any(name in present for k, name, _ in LIMITS.values() if k == kind):
                return updated_node  # limits chosen by hand: not ours to complete
            limits = pool_limits(self.run.config, kind)
            if not limits or kind == "httpx":
                # (a bare httpx.Limits() caps nothing: any cap would lower its concurrency)
                self._implicit(original_node, kind, bare_limits=kind == "httpx")
                return updated_node
            if not self.report(original_node, "AF303", message):
                return updated_node
            new = updated_node
            for name, value in limits.items():
                new = add_keyword(new, name, cst.Integer(str(value)))
            return self._fresh(original_node, new)
        assert owner is not None
        keyword, pool = POOL_OWNERS[owner]
        if keyword in present or "transport" in present:
            return updated_node
        kind = POOL_FACTORIES[pool]
        limits = pool_limits(self.run.config, kind)
        if not limits:
            self._implicit(original_node, kind, bare_limits=False)
            return updated_node
        spelled = self._spell(original_node, pool)
        if spelled is None:
            self.report(
                original_node,
                "AF303",
                message,
                reason=f"the name {pool.rpartition('.')[2]} means something else here",
            )
            return updated_node
        if not self.report(original_node, "AF303", message):
            return updated_node
        inner = cst.Call(func=spelled, args=[])
        for name, value in limits.items():
            inner = add_keyword(inner, name, cst.Integer(str(value)))
        return self._fresh(original_node, add_keyword(updated_node, keyword, inner))

    def _fresh(self, original: cst.Call, new: cst.Call) -> cst.Call:
        if "\n" not in cst.Module([]).code_for_node(original):
            self.fresh[id(new)] = new
        return new

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not self.fresh:
            return updated_node
        code = cst.Module([]).code_for_node(updated_node.with_changes(leading_lines=[]))
        if "\n" in code.rstrip("\n"):
            return updated_node
        return self._fit(updated_node, code.rstrip(), updated_node)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if not self.fresh:
            return updated_node
        header = updated_node.with_changes(
            leading_lines=[], body=cst.SimpleStatementSuite(body=[cst.Pass()])
        )
        code = cst.Module([]).code_for_node(header).rstrip()
        if "\n" in code:
            return updated_node
        items = updated_node.with_changes(body=updated_node.body.with_changes())
        fitted = self._fit(header, code.removesuffix(" pass"), header)
        if fitted is header:
            return updated_node
        return items.with_changes(items=fitted.items)

    def _fit(self, node: _FitT, first_line: str, search: cst.CSTNode) -> _FitT:
        """`node` with the outermost call this codemod laid out on one line exploded the
        way black does, when its line is too long."""
        indent = self.indent * self.depth
        if len(indent) + len(first_line) <= _LINE_LENGTH:
            return node
        # Like black's right-hand split: the outermost call holding the one laid out here.
        outer = next(
            (
                cst.ensure_type(c, cst.Call)
                for c in m.findall(search, m.Call())
                if any(id(inner) in self.fresh for inner in m.findall(c, m.Call()))
            ),
            None,
        )
        if outer is None:
            return node
        inner_indent = indent + self.indent
        for one_per_line in (False, True):
            exploded = explode(outer, self.indent, one_per_line)
            lines = cst.Module([]).code_for_node(exploded).splitlines()
            if all(len(inner_indent) + len(line.strip()) <= _LINE_LENGTH for line in lines[1:-1]):
                break
        return cast(_FitT, node.deep_replace(outer, exploded))


_FitT = TypeVar("_FitT", cst.SimpleStatementLine, cst.With)


def cast_module_name(node: cst.ImportFrom) -> cst.BaseExpression:
    return node.module if node.module is not None else cst.Name("")
