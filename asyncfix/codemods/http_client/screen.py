"""The stdlib-ast facts the family's prescreens read: calls that may be of given qualified
names (through the module's imports), the module's imports and outermost defs, and the
text of a def's lines. Cheap, and never False where libcst's qualified names (or the
project index's) would find a site."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import accumulate

from asyncfix import syntax
from asyncfix.codemods.speed.screens import every_node
from asyncfix.index import BLOCK_FIELDS, children, dotted_name, full_name


def calls_in(tree: ast.AST, within: type[ast.AST] | None = None) -> Iterator[ast.Call]:
    """The calls in `tree`; with `within` (ast.AsyncFunctionDef, say), those inside such a
    def, nested code too: a superset of those in its own body (see loop_context)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, within is None)]
    while stack:
        node, inside = stack.pop()
        inside = inside or (within is not None and isinstance(node, within))
        if inside and isinstance(node, ast.Call):
            yield node
        stack += [(child, inside) for child in children(node)]


def imports_module(tree: ast.Module, module: str) -> bool:
    """Does `tree` import `module` (or a submodule, or names from it) anywhere?"""
    for node in every_node(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        if any(name == module or name.startswith(module + ".") for name in names):
            return True
    return False


def may_call(tree: ast.Module, qualnames: Iterable[str], within: type[ast.AST] | None) -> bool:
    """Could a call in `tree` (inside a `within` def) be of one of `qualnames`, spelt through
    the module's imports (`subprocess.run`, `sp.run`, `from subprocess import run as r`,
    `from urllib import request` then `request.urlopen`) or a builtin (`open()`)? Cheap, on
    the stdlib ast, and never False where the qualified names (libcst's, the index's) say
    otherwise."""
    targets = set(qualnames)
    modules = {q.split(".", 1)[0] for q in targets}
    lasts = {q.rsplit(".", 1)[-1] for q in targets}
    names = {q.removeprefix("builtins.") for q in targets if q.startswith("builtins.")}
    heads: set[str] = set()  # names bound to one of `modules` or to something from them
    for node in every_node(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in modules:
                    heads.add(alias.asname or alias.name.split(".")[0])
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in modules
        ):
            bound = {a.asname or a.name for a in node.names if a.name != "*"}
            names |= bound  # a function
            heads |= bound  # or a submodule: `from urllib import request`
    if not heads and not names:
        return False
    for call in calls_in(tree, within):
        head, _, rest = (dotted_name(call.func) or "").partition(".")
        if (rest and head in heads and rest.rsplit(".", 1)[-1] in lasts) or (
            not rest and head in names
        ):
            return True
    return False


DefNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Shape:
    """What a statements-only walk of a module finds: every import, and the outermost defs
    of each kind (an async def inside an async def is under the outer one)."""

    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    defs: dict[type[DefNode], list[DefNode]] = field(
        default_factory=lambda: {ast.FunctionDef: [], ast.AsyncFunctionDef: []}
    )


def module_shape(tree: ast.Module) -> Shape:
    shape = Shape()
    _shape_walk(shape, tree.body, frozenset())
    return shape


def _shape_walk(shape: Shape, nodes: Iterable[ast.AST], inside: frozenset[type[DefNode]]) -> None:
    # (not a closure: a recursive closure is a reference cycle, which kept `shape` and its
    # nodes until a full collection)
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            shape.imports.append(node)
            continue
        below = inside
        if isinstance(node, DefNode) and type(node) not in inside:
            shape.defs[type(node)].append(node)
            below = inside | {type(node)}
        for name in BLOCK_FIELDS:
            block = getattr(node, name, None)
            if block:
                _shape_walk(shape, block, below)


class Lines:
    """The text of a module's statements, by their lines, where it spells the identifiers
    the ast holds: ASCII (no NFKC normalization) in a file without a coding cookie."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.usable = not syntax.may_declare_encoding(data)
        self._starts: list[int] | None = None  # byte offset of each line; the ast's breaks

    def text(self, node: ast.stmt) -> bytes | None:
        """`node`'s lines, from its own (not its decorators'); None where not usable."""
        if not self.usable or node.end_lineno is None:
            return None
        if self._starts is None:
            lengths = (len(line) for line in self.data.splitlines(keepends=True))
            self._starts = [0, *accumulate(lengths)]
        last = min(node.end_lineno, len(self._starts) - 1)
        text = self.data[self._starts[node.lineno - 1] : self._starts[last]]
        return text if text.isascii() else None


@cache
def _leads(targets: frozenset[str]) -> frozenset[str]:
    """Each target and its dotted prefixes (`a`, `a.b` for `a.b.c`): the names that may
    lead to one. A set lookup, where a loop over the targets ran for every import."""
    return frozenset(
        target.rsplit(".", cut)[0] for target in targets for cut in range(target.count(".") + 1)
    )


@cache
def _last_names(targets: frozenset[str]) -> frozenset[str]:
    return frozenset(target.rsplit(".", 1)[-1] for target in targets)


@cache
def _tails(targets: frozenset[str]) -> frozenset[str]:
    """Each target and its dotted tails (`c`, `b.c` for `a.b.c`): a name `q` with
    `t == q or t.endswith(f".{q}")` for a target `t`, found by a set lookup."""
    return frozenset(
        target.split(".", cut)[-1] for target in targets for cut in range(target.count(".") + 1)
    )


@lru_cache(maxsize=256)
def _spelling(words: frozenset[str]) -> re.Pattern[bytes]:
    """One of `words`, whole (see Callees._words): the pattern of a set of words is made
    once, where the modules of a project bind the same few names."""
    return re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in words) + rb")\b")


class Callees:
    """Which callees, as written (`sp.run`, `urlopen`, `open`), may have one of `targets` for
    a qualified name, through the module's imports (anywhere in it), however libcst's
    QualifiedNameProvider or the index (ModuleInfo.resolve) resolves them: a superset of
    both. A name may be bound by several imports, or by an assignment (then it resolves
    as written); a relative import's package is not known here, so any package counts;
    an unshadowed builtin is `builtins.<name>`."""

    def __init__(self, targets: Iterable[str], imports: Iterable[ast.Import | ast.ImportFrom]):
        self.targets = frozenset(targets)
        self._leads = _leads(self.targets)
        self.bound: dict[str, set[str]] = {}  # local name -> qualified names it may stand for
        self.relative: dict[str, set[str]] = {}  # local name -> name imported from `.pkg`
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    qualified = alias.name if alias.asname else alias.name.split(".")[0]
                    self._bind(self.bound, alias.asname or qualified, qualified)
            else:
                # `from .m import x`: `m.x` below a package not known here.
                names = self.relative if node.level else self.bound
                for alias in node.names:
                    if alias.name != "*":
                        qualified = f"{node.module}.{alias.name}" if node.module else alias.name
                        self._bind(names, alias.asname or alias.name, qualified)

    def _bind(self, names: dict[str, set[str]], name: str, qualified: str) -> None:
        # Only a name that may lead to a target matters.
        if qualified in self._leads or names is self.relative:
            names.setdefault(name, set()).add(qualified)

    def may_be_target(self, dotted: str) -> bool:
        head, dot, rest = dotted.partition(".")
        targets = self.targets
        if dotted in targets or (not dot and f"builtins.{dotted}" in targets):
            return True
        if any(q + dot + rest in targets for q in self.bound.get(head, ())):
            return True
        return any(
            t == q + dot + rest or t.endswith(f".{q}{dot}{rest}")
            for q in self.relative.get(head, ())
            for t in targets
        )

    def _words(self) -> re.Pattern[bytes]:
        """A written call that may be a target spells one of these: the target's last name
        (`x.urlopen`, `open`), or a name bound to a target itself (`nap` for time.sleep)."""
        tails = _tails(self.targets)
        words = set(_last_names(self.targets))
        for names in (self.bound, self.relative):
            words.update(
                name for name, qualified in names.items() if not tails.isdisjoint(qualified)
            )
        return _spelling(frozenset(words))

    def called_in(self, nodes: Iterable[DefNode], source: Lines | None) -> bool:
        """Does any call under `nodes` (defs of `source`, nested code too) have a callee that
        may be a target? A def whose text spells no word it would need is not walked."""
        words: re.Pattern[bytes] | None = None
        for node in nodes:
            text = None if source is None else source.text(node)
            if text is not None:
                words = words or self._words()
                if words.search(text) is None:
                    continue
            for call in every_node(node):
                if isinstance(call, ast.Call):
                    dotted = full_name(call.func)
                    if dotted is not None and self.may_be_target(dotted):
                        return True
        return False
