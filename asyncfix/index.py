"""The project index: a whole-project view built with the stdlib `ast` (~15x faster than a
libcst parse), so that codemods can decide cross-file changes before any file is rewritten.

Modules are parsed lazily and only when a codemod's plan asks: `ProjectIndex.modules()`
takes the files whose bytes hold a token, so a monorepo pays a bytes search for most files
and an `ast` parse for the few that matter. Facts are cached by content hash.
"""

from __future__ import annotations

import ast
import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from asyncfix.files import SourceError, SourceFile, read_bytes

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class FunctionInfo:
    """A function or method, with what a plan needs to know without re-parsing."""

    qualname: str  # "pkg.mod.func", "pkg.mod.Class.method"; nested: "pkg.mod.outer.<locals>.inner"
    name: str
    module: str
    path: str
    line: int
    column: int  # 1-based
    is_async: bool
    class_name: str | None
    decorators: tuple[str, ...]  # dotted, resolved through imports where possible
    awaits: bool  # its own body has await / async for / async with (not nested defs)
    yields: bool
    calls: tuple[str, ...]  # dotted callees of its own body, resolved through imports


class _Trees:
    """The ast of indexed modules, kept up to a budget of source lines; beyond it the
    least recently used are dropped and parsed again when asked for.

    An ast costs ~1 KB of memory per source line: a monorepo's worth of them would not fit
    beside the workers (the issue's bound is 500 MB for a 1M-line tree), while a project
    of ordinary size keeps all of its trees and never parses one twice.
    """

    def __init__(self, budget_lines: int) -> None:
        self.budget = budget_lines
        self._trees: OrderedDict[tuple[str, str], tuple[ast.Module, int]] = OrderedDict()
        self._lines = 0

    def get(self, info: ModuleInfo) -> ast.Module:
        key = (info.path, info.digest)
        found = self._trees.get(key)
        if found is not None:
            self._trees.move_to_end(key)
            return found[0]
        return self.put(info, ast.parse(info.data, filename=info.path))

    def put(self, info: ModuleInfo, tree: ast.Module) -> ast.Module:
        lines = info.data.count(b"\n") + 1
        self._trees[(info.path, info.digest)] = (tree, lines)
        self._lines += lines
        while self._lines > self.budget and len(self._trees) > 1:
            _, (_, dropped) = self._trees.popitem(last=False)
            self._lines -= dropped
        return tree

    def clear(self) -> None:
        self._trees.clear()
        self._lines = 0


TREES = _Trees(budget_lines=200_000)


@dataclass(eq=False)
class ModuleInfo:
    path: str  # display path
    file: SourceFile
    name: str  # dotted module name, from the package layout
    data: bytes = field(repr=False)  # the source, to parse the tree again once dropped
    digest: str  # of `data`
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    functions: dict[str, FunctionInfo] = field(default_factory=dict)  # by qualname
    # Module-level `name = <call>(...)`: name -> (resolved callee, line)
    assignments: dict[str, tuple[str, int]] = field(default_factory=dict)
    toplevel: set[str] = field(default_factory=set)  # names the module itself defines

    @property
    def tree(self) -> ast.Module:
        """The module's stdlib ast (see _Trees: it may be parsed again)."""
        return TREES.get(self)

    def resolve(self, node: ast.expr) -> str | None:
        """Dotted qualified name of a Name/Attribute chain, through this module's imports."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, dot, rest = dotted.partition(".")
        if head in self.imports:
            head = self.imports[head]
        elif head in self.toplevel:
            head = f"{self.name}.{head}"
        return head + dot + rest


def dotted_name(node: ast.expr | None) -> str | None:
    """`a.b.c` for a Name/Attribute chain as written; None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def module_name(path: Path) -> str:
    """`a/b/c.py` -> `b.c` when only `b/` is a package (has __init__.py)."""
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(parts)) or path.stem


def _absolute_import(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


class _Collector(ast.NodeVisitor):
    """One pass over a module: imports, module-level call assignments, functions."""

    def __init__(self, info: ModuleInfo, is_package: bool) -> None:
        self.info = info
        self.is_package = is_package
        self.scope: list[str] = []  # qualname parts below the module
        self.class_stack: list[str | None] = [None]

    # Imports anywhere count: a local `import requests` still means requests.
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.info.imports[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                self.info.imports[head] = head

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute_import(self.info.name, self.is_package, node.level, node.module)
        for alias in node.names:
            if alias.name != "*":
                self.info.imports[alias.asname or alias.name] = f"{base}.{alias.name}"

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self.scope and isinstance(node.value, ast.Call):
            callee = self.info.resolve(node.value.func)
            for target in node.targets:
                if isinstance(target, ast.Name) and callee:
                    self.info.assignments[target.id] = (callee, node.lineno)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.class_stack.append(node.name)
        self.generic_visit(node)
        self.class_stack.pop()
        self.scope.pop()

    def _function(self, node: FunctionNode) -> None:
        qualname = ".".join([self.info.name, *self.scope, node.name])
        body = _OwnBody()
        for stmt in node.body:
            body.visit(stmt)
        decorators = tuple(
            self.info.resolve(d.func if isinstance(d, ast.Call) else d) or ast.unparse(d)
            for d in node.decorator_list
        )
        calls = tuple(c for c in (self.info.resolve(f) for f in body.calls) if c)
        self.info.functions[qualname] = FunctionInfo(
            qualname=qualname,
            name=node.name,
            module=self.info.name,
            path=self.info.path,
            line=node.lineno,
            column=node.col_offset + 1,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            class_name=self.class_stack[-1],
            decorators=decorators,
            awaits=body.awaits,
            yields=body.yields,
            calls=calls,
        )
        self.scope.extend([node.name, "<locals>"])
        self.class_stack.append(None)
        self.generic_visit(node)
        self.class_stack.pop()
        del self.scope[-2:]

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function


class _OwnBody(ast.NodeVisitor):
    """What a function's own body does, not counting nested functions and classes."""

    def __init__(self) -> None:
        self.awaits = False
        self.yields = False
        self.calls: list[ast.expr] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        pass

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def visit_Await(self, node: ast.Await) -> None:
        self.awaits = True
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.awaits = True
        self.generic_visit(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.awaits = True
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.awaits = self.awaits or bool(node.is_async)
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.yields = True
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.yields = True
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(node.func)
        self.generic_visit(node)


_CACHE: dict[tuple[str, str], ModuleInfo] = {}


def index_module(file: SourceFile, data: bytes) -> ModuleInfo | None:
    """Facts of one module; None when it does not parse (the transform phase reports it)."""
    name = module_name(file.path)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    key = (digest, name)
    if key in _CACHE:
        cached = _CACHE[key]
        if cached.path == file.display:
            return cached
    try:
        tree = ast.parse(data, filename=file.display)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    info = ModuleInfo(path=file.display, file=file, name=name, data=data, digest=digest)
    TREES.put(info, tree)
    collector = _Collector(info, file.path.name == "__init__.py")
    # Imports and top-level names first, so that uses before definitions resolve too.
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            collector.visit(node)
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            info.toplevel.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            info.toplevel.update(t.id for t in targets if isinstance(t, ast.Name))
    collector.visit(tree)
    _CACHE[key] = info
    return info


class ProjectIndex:
    """Every discovered file, parsed with `ast` only on demand."""

    def __init__(
        self,
        files: Iterable[SourceFile],
        contents: Mapping[str, bytes | SourceError] | None = None,
    ) -> None:
        self.files = list(files)
        self._data: dict[str, bytes | None] = {
            path: data if isinstance(data, bytes) else None
            for path, data in (contents or {}).items()
        }
        self._modules: dict[str, ModuleInfo | None] = {}

    def data(self, file: SourceFile) -> bytes | None:
        if file.display not in self._data:
            try:
                self._data[file.display] = read_bytes(file.path)
            except SourceError:
                self._data[file.display] = None
        return self._data[file.display]

    def module(self, file: SourceFile) -> ModuleInfo | None:
        if file.display not in self._modules:
            data = self.data(file)
            self._modules[file.display] = None if data is None else index_module(file, data)
        return self._modules[file.display]

    def modules(self, *tokens: bytes) -> Iterator[ModuleInfo]:
        """Modules whose bytes contain any of `tokens` (all modules when none is given)."""
        for file in self.files:
            data = self.data(file)
            if data is None or (tokens and not any(t in data for t in tokens)):
                continue
            info = self.module(file)
            if info is not None:
                yield info

    def by_name(self, name: str, *tokens: bytes) -> ModuleInfo | None:
        for info in self.modules(*tokens):
            if info.name == name:
                return info
        return None

    def function(self, qualname: str, *tokens: bytes) -> FunctionInfo | None:
        for info in self.modules(*tokens):
            if qualname.startswith(info.name + ".") and qualname in info.functions:
                return info.functions[qualname]
        return None
