"""Matching helpers every family shares: where code runs, how a module is reachable."""

from __future__ import annotations

import ast
import re
import symtable
import warnings
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.codemod.visitors._gather_unused_imports import MODULES_IGNORED_BY_DEFAULT
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    Scope,
)

from asyncfix import syntax
from asyncfix.codemods.shared.lifecycle import lifecycle_functions as lifecycle_functions
from asyncfix.codemods.shared.routes import ROUTE_METHODS as ROUTE_METHODS
from asyncfix.codemods.shared.routes import route_decorator as route_decorator

if TYPE_CHECKING:
    from asyncfix.project import ImportSorter


@dataclass(frozen=True)
class LoopContext:
    """Where a node runs relative to the event loop."""

    function: cst.FunctionDef | None  # the async def whose body runs it directly
    in_generator_expression: bool  # an await here would make the genexp asynchronous

    @property
    def on_event_loop(self) -> bool:
        return self.function is not None


def loop_context(scope: Scope | None) -> LoopContext:
    """Does code in `scope` run directly on the event loop?

    Only the body of an `async def` does, and comprehensions inside it. A nested `def` or a
    `lambda` may run in a thread, and a parameter default runs where the function is
    defined: libcst's scopes already tell these apart.
    """
    in_genexp = False
    while isinstance(scope, ComprehensionScope):
        in_genexp = in_genexp or isinstance(scope.node, cst.GeneratorExp)
        scope = scope.parent
    if (
        isinstance(scope, FunctionScope)
        and isinstance(scope.node, cst.FunctionDef)
        and scope.node.asynchronous is not None
    ):
        return LoopContext(scope.node, in_genexp)
    return LoopContext(None, in_genexp)


def _imports_module_plainly(assignment: ImportAssignment, module: str) -> bool:
    node = assignment.node
    if not isinstance(node, cst.Import):
        return False
    for alias in node.names:
        name = get_full_name_for_node(alias.name) or ""
        if alias.asname is None and (name == module or name.startswith(module + ".")):
            return True
    return False


@dataclass(frozen=True)
class ModuleName:
    """How to spell an attribute of a module at a site: `name.attr`, or, when `attr` is set,
    `name` alone (the attribute, imported with `from module import attr`); and whether that
    import is still to add."""

    name: str
    needs_import: bool
    module: str = ""
    attr: str | None = None

    def spelled(self, attr: str) -> str:
        if self.attr is not None:
            assert attr == self.attr, (attr, self.attr)  # asked of module_name_at for it
            return self.name
        return f"{self.name}.{attr}"

    def attribute(self, attr: str) -> cst.Name | cst.Attribute:
        if self.attr is not None:
            return cst.Name(self.spelled(attr))
        return cst.Attribute(cst.Name(self.name), cst.Name(attr))

    def add_import(self, context: CodemodContext) -> None:
        if self.needs_import:
            AddImportsVisitor.add_needed_import(context, self.module, self.attr)


def module_name_at(scope: Scope, module: str, attr: str | None = None) -> ModuleName | None:
    """The name under which `module` (a top-level module such as asyncio) is usable in scope;
    with `attr`, the one attribute the caller writes.

    None when its plain name is taken by something else there, so the caller must not
    write `module.attr` (and reports a finding instead). A module the file reaches only by
    `from module import ...` is not imported a second time: `attr` joins that import.
    """
    if module in scope:
        assignments = scope[module]
        if all(
            isinstance(a, ImportAssignment) and _imports_module_plainly(a, module)
            for a in assignments
        ):
            return ModuleName(module, needs_import=False, module=module)
        return None
    # `import asyncio as aio` at module level, visible here under its alias.
    imports = _module_imports(scope.globals)
    for local in imports.aliases.get(module, ()):
        if all(isinstance(a, ImportAssignment) for a in scope[local]):
            return ModuleName(local, needs_import=False, module=module)
    if attr is not None and module in imports.from_modules:
        found = _imported_from(scope, module, attr)
        if found is not None:
            return found
    return ModuleName(module, needs_import=True, module=module)


def _imported_from(scope: Scope, module: str, attr: str) -> ModuleName | None:
    """`attr` by itself, from `from module import attr` (there, or to add): None when the
    name is bound, or read, as something else anywhere it would be seen."""
    if attr in scope:
        for assignment in scope[attr]:
            node = assignment.node if isinstance(assignment, ImportAssignment) else None
            if not (
                isinstance(node, cst.ImportFrom)
                and not node.relative
                and node.module is not None
                and get_full_name_for_node(node.module) == module
                and not isinstance(node.names, cst.ImportStar)
                and any(a.evaluated_name == attr and a.asname is None for a in node.names)
            ):
                return None
        return ModuleName(attr, needs_import=False, module=module, attr=attr)
    if attr in scope.globals or scope.globals.accesses[attr] or scope.accesses[attr]:
        return None
    return ModuleName(attr, needs_import=True, module=module, attr=attr)


class _ModuleImports(NamedTuple):
    aliases: dict[str, list[str]]  # module -> the names `import <module> as <name>` binds
    from_modules: set[str]  # the modules of `from <module> import ...` (absolute)


# Global scope -> its module-level imports, in the order libcst lists the assignments:
# made once per scope, where a walk of every global assignment per call site made a
# module's rewrite quadratic in its size.
_IMPORTS: weakref.WeakKeyDictionary[GlobalScope, _ModuleImports] = weakref.WeakKeyDictionary()


def _module_imports(scope: GlobalScope) -> _ModuleImports:
    found = _IMPORTS.get(scope)
    if found is not None:
        return found
    found = _IMPORTS[scope] = _ModuleImports({}, set())
    for assignment in scope.assignments:
        if not isinstance(assignment, ImportAssignment):
            continue
        node = assignment.node
        if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
            name = get_full_name_for_node(node.module)
            if name is not None:
                found.from_modules.add(name)
        if not isinstance(node, cst.Import):
            continue
        for alias in node.names:
            name = get_full_name_for_node(alias.name)
            asname = alias.asname.name if alias.asname is not None else None
            if name is not None and isinstance(asname, cst.Name):
                found.aliases.setdefault(name, []).append(asname.value)
    return found


def parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """Wrap in parentheses unless already wrapped."""
    if node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def is_primary_operand(parent: cst.CSTNode | None, child: cst.CSTNode) -> bool:
    """Is `child` the object of `.attr`, `[i]` or `(...)` in `parent`?

    There `await child` must be parenthesized, or `await` would bind to the whole primary.
    """
    return (
        (isinstance(parent, cst.Attribute) and parent.value is child)
        or (isinstance(parent, cst.Subscript) and parent.value is child)
        or (isinstance(parent, cst.Call) and parent.func is child)
    )


def make_await(call: cst.BaseExpression, *, as_primary: bool) -> cst.BaseExpression:
    """`await call`, moving the call's own parentheses outside the await."""
    awaited = cst.Await(
        expression=call.with_changes(lpar=[], rpar=[]), lpar=call.lpar, rpar=call.rpar
    )
    return parenthesize(awaited) if as_primary else awaited


def inside_sync_lock(statements: list[cst.CSTNode], function: cst.FunctionDef) -> bool:
    """Is there a plain `with <...lock...>:` between `function` and the innermost statement,
    or does `function` take a lock with a plain `<...lock...>.acquire()`?

    Yielding to the event loop while a thread lock is held lets another task block the
    loop's thread on that same lock: a deadlock a rewrite must not introduce.
    """
    inside = False
    for stmt in statements:
        if stmt is function:
            inside = True
        elif inside and isinstance(stmt, cst.With) and stmt.asynchronous is None:
            for item in stmt.items:
                if _names_a_lock(item.item):
                    return True
    return inside and _acquires_a_thread_lock(function)


def _names_a_lock(node: cst.CSTNode) -> bool:
    text = cst.Module([]).code_for_node(node).lower()
    return "lock" in text or "mutex" in text or "semaphore" in text


def _acquires_a_thread_lock(function: cst.FunctionDef) -> bool:
    """Does `function` call `<lock>.acquire()` without awaiting it (a thread lock, held
    until a `release()` the static view cannot pair with the site)?"""
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Await):
            # `await lock.acquire()`: an asyncio lock, which yields instead of blocking.
            inner = node.expression
            stack.extend(inner.children if isinstance(inner, cst.Call) else [inner])
            continue
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "acquire"
            and _names_a_lock(node.func.value)
        ):
            return True
        if not isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda):
            stack.extend(node.children)
    return False


def remove_import_if_unused(context: CodemodContext, scope: Scope, reference: cst.CSTNode) -> None:
    """Schedule removal of the import that binds the head name of `reference`
    (`time` in `time.sleep`, `sleep` in `sleep`), kept if anything else still uses it.

    libcst's `remove_unused_import_by_node` does the same with a full tree walk per call.
    """
    head = reference
    while isinstance(head, cst.Attribute):
        head = head.value
    if not isinstance(head, cst.Name) or head.value not in scope:
        return
    local = head.value
    for assignment in scope[local]:
        if not isinstance(assignment, ImportAssignment):
            continue
        node = assignment.node
        if not isinstance(node, cst.Import | cst.ImportFrom) or isinstance(
            node.names, cst.ImportStar
        ):
            continue
        for alias in node.names:
            bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
            if bound != local:
                continue
            if isinstance(node, cst.Import):
                RemoveImportsVisitor.remove_unused_import(
                    context, alias.evaluated_name, asname=alias.evaluated_alias
                )
            elif node.module is not None and not node.relative:
                RemoveImportsVisitor.remove_unused_import(
                    context,
                    get_full_name_for_node(node.module) or "",
                    alias.evaluated_name,
                    alias.evaluated_alias,
                )


class TopImportsAdder(AddImportsVisitor):
    """libcst's AddImportsVisitor without its walks of what it never looks at: the
    imports it has to know of, and may extend, are those at the top of the module
    (its gatherer stops at the first statement after them that is not an import line;
    its `leave_ImportFrom` acts on those alone). The statements after that first one are
    not entered; the walks of the whole module were most of its cost."""

    _later: frozenset[int] = frozenset()

    def visit_Module(self, node: cst.Module) -> None:
        leading = _leading_statements(node.body)
        self._later = frozenset(id(statement) for statement in node.body[len(leading) :])
        super().visit_Module(node.with_changes(body=leading))

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) not in self._later and super().on_visit(node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        # libcst finds the insertion point by matching the original module against
        # `[docstring, ZeroOrMore()]`, which recurses once per top-level statement (a
        # RecursionError past ~1000 of them, quadratic below): it reads only the leading
        # statements, and the statements keep their count and order up to the import block.
        leading = _leading_statements(original_node.body)
        return super().leave_Module(original_node.with_changes(body=leading), updated_node)


def _leading_statements(
    body: Sequence[cst.BaseStatement],
) -> Sequence[cst.BaseStatement]:
    """The first statement (a docstring may come first), the import lines after it, and
    the statement that ends them."""
    for index, statement in enumerate(body[1:], 1):
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and isinstance(statement.body[0], cst.Import | cst.ImportFrom)
        ):
            return body[: index + 1]
    return body


def imports_still_used(code: str, scheduled: Iterable[tuple[str, str | None, str | None]]) -> bool:
    """True when RemoveImportsVisitor would remove none of the `scheduled` imports
    (module, obj, asname) from `code`: Python's own scope analysis (`symtable`) shows each
    name they bind at module level read somewhere. The common case (another use of
    `json` remains), told for a fraction of libcst's scope analysis of the rewritten
    module, which is most of an import removal's cost. False when it cannot be told:
    a dotted `import a.b` (libcst weighs each prefix), a name imported in a nested
    scope, one only exported or in a string annotation, a text Python cannot read."""
    try:
        with warnings.catch_warnings():  # invalid escapes etc.: not ours to report
            warnings.simplefilter("ignore")
            top = symtable.symtable(code, "<asyncfix>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    nested = _nested_tables(top)
    # Once each: every rewritten call site schedules its import again, and each is
    # looked up in every nested scope.
    for module, obj, asname in dict.fromkeys(scheduled):
        name = asname or obj or (None if "." in module else module)
        if name is None:
            return False
        # libcst drops an unused import wherever it is: a nested one is its to judge.
        inner = [table.lookup(name) for table in nested if name in table.get_identifiers()]
        if any(s.is_imported() for s in inner):
            return False
        symbol = top.lookup(name) if name in top.get_identifiers() else None
        if symbol is None or not symbol.is_imported():
            continue  # no import binds it: libcst finds none to drop
        # A read in a nested scope reaches the module's name only when it is global there.
        if not symbol.is_referenced() and not any(
            s.is_referenced() and s.is_global() for s in inner
        ):
            return False
    return True


def imports_unused(
    code: str, scheduled: Iterable[tuple[str, str | None, str | None]]
) -> frozenset[str] | None:
    """The names the `scheduled` imports (module, obj, asname) bind, when libcst's
    GatherUnusedImportsVisitor certainly finds every import binding one of them unused;
    None when that cannot be told so cheaply.

    libcst reads an import as used when its name is exported (a string of `__all__`),
    read in a string annotation, or reached by an access of its scope analysis. Every
    access is a `Name` node, spelt in the code; the strings' values are those of the
    string constants of Python's ast (an escape or an implicit concatenation may spell a
    name that the code does not). So a name spelt at most once in the code (by the
    import itself) and in no string is unused, told without the scope analysis."""
    names = set()
    for module, obj, asname in scheduled:
        name = asname or obj or (None if "." in module else module)
        if name is None:
            return None  # (a dotted `import a.b`: libcst weighs each prefix)
        names.add(name)
    alternatives = "|".join(map(re.escape, sorted(names)))
    spelt = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
    counts: dict[str, int] = {}
    for found in spelt.findall(code):
        counts[found] = counts.get(found, 0) + 1
        if counts[found] > 1:
            return None
    tree = _strings_tree(code)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if type(node) is ast.Constant and isinstance(node.value, str | bytes):
            value = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            if any(name in value for name in names):
                return None
    return frozenset(names)


# The characters that make and escape a string literal.
_STRING_MARKS = re.compile(r"['\"\\]")


def _strings_tree(code: str) -> ast.Module | None:
    """Python's ast of `code`, holding every string literal of it as it is; None when
    there is none. Source in a newer Python's syntax is read lowered (`syntax.lower`)
    when the lowering kept every quote and backslash in place: it edits tokens outside
    the strings (an `except A, B:` parenthesized), and a blanked type parameter or a
    requoted f-string that took or changed a string is told by its quotes."""
    try:
        with warnings.catch_warnings():  # invalid escapes etc.: not ours to report
            warnings.simplefilter("ignore")
            try:
                return ast.parse(code)
            except SyntaxError:
                lowered = syntax.lower(code)
                if lowered is None or _STRING_MARKS.findall(lowered) != _STRING_MARKS.findall(code):
                    return None
                return ast.parse(lowered)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _nested_tables(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    found: list[symtable.SymbolTable] = []
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.get_children())
    return found


def to_thread_call(asyncio: ModuleName, call: cst.Call) -> cst.Call:
    """`asyncio.to_thread(f, *args, **kwargs)` for `f(*args, **kwargs)`: the arguments are
    still evaluated first, on the loop, in their order; only the call moves to a thread.
    A call laid out one argument per line keeps that layout: `f` gets its own line."""
    func = asyncio.attribute("to_thread")
    if not call.args:
        return call.with_changes(func=func, args=[cst.Arg(call.func)])
    after = call.whitespace_before_args
    spacing = after if isinstance(after, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    first = cst.Arg(call.func, comma=cst.Comma(whitespace_after=spacing))
    return call.with_changes(func=func, args=[first, *call.args])


# -- where added imports go ------------------------------------------------------------


def import_block(body: Sequence[cst.BaseStatement]) -> tuple[int, int]:
    """[start, end) of the module's leading import lines, after a docstring: the block an
    import sorter keeps in order, and where AddImportsVisitor puts what it adds."""
    start = 1 if body and _is_docstring(body[0]) else 0
    end = start
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    return start, end


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def sort_added_imports(before: cst.Module, after: cst.Module, sorter: ImportSorter) -> cst.Module:
    """`after` (`before` with AddImportsVisitor's additions) with what was added where the
    project's import sorter puts it, every other line as it was.

    When the sorter's configuration leaves the block as it stood (the project keeps its
    imports sorted), the block with the additions is the sorter's own output (isort's API on
    that block alone). Else, and when no sorter is configured, each new import line goes
    into its group (isort's sections), a merged `from x import` keeps its names in isort's
    order, and every line that was there stays where it was.
    """
    try:
        old_start, old_end = import_block(before.body)
        start, end = import_block(after.body)
        old, new = _lines(before.body[old_start:old_end]), _lines(after.body[start:end])
        pairs = _align(old, new)
        if all(match is not None and _code(match) == _code(s) for s, match in pairs):
            return after  # nothing added to the block
        block = (
            _sorted_block(old, new, sorter.settings) if sorter.tool else None
        ) or _grouped_block(old, pairs, sorter.settings)
        return after.with_changes(body=[*after.body[:start], *block, *after.body[end:]])
    finally:
        _CODES.clear()


def _lines(statements: Sequence[cst.BaseStatement]) -> list[cst.SimpleStatementLine]:
    return [s for s in statements if isinstance(s, cst.SimpleStatementLine)]


# id of a statement -> (it, its `_code`), within one `sort_added_imports`: the alignment,
# the sorting and the grouping each ask the same lines' code again and again.
_CODES: dict[int, tuple[cst.SimpleStatementLine, str]] = {}


def _code(statement: cst.SimpleStatementLine) -> str:
    """The statement's text without the lines above it, with `\n` line ends."""
    held = _CODES.get(id(statement))
    if held is None or held[0] is not statement:
        code = cst.Module([statement.with_changes(leading_lines=())], default_newline="\n").code
        held = _CODES[id(statement)] = (statement, code)
    return held[1]


def _align(
    old: list[cst.SimpleStatementLine], new: list[cst.SimpleStatementLine]
) -> list[tuple[cst.SimpleStatementLine, cst.SimpleStatementLine | None]]:
    """Each statement of the new block with the old one it is (the same code, or the same
    `from x import` with names added), or None when it was added."""
    pairs: list[tuple[cst.SimpleStatementLine, cst.SimpleStatementLine | None]] = []
    i = 0
    for statement in new:
        if i < len(old) and (
            _code(old[i]) == _code(statement) or _same_from_module(old[i], statement)
        ):
            pairs.append((statement, old[i]))
            i += 1
        else:
            pairs.append((statement, None))
    return pairs


def _single_from(statement: cst.SimpleStatementLine) -> cst.ImportFrom | None:
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.ImportFrom)
    ):
        return statement.body[0]
    return None


def _same_from_module(old: cst.SimpleStatementLine, new: cst.SimpleStatementLine) -> bool:
    a, b = _single_from(old), _single_from(new)
    return (
        a is not None
        and b is not None
        and len(a.relative) == len(b.relative)
        and a.module is not None
        and b.module is not None
        and a.module.deep_equals(b.module)
    )


def _sorted_block(
    old: list[cst.SimpleStatementLine], new: list[cst.SimpleStatementLine], settings: Any
) -> list[cst.SimpleStatementLine] | None:
    """The new block as the sorter writes it, or None when the sorter would also change
    the old block (then its output would touch lines the rewrite did not)."""
    import isort

    def text(block: list[cst.SimpleStatementLine]) -> str:
        return "".join(
            cst.Module([s], default_newline="\n").code if i else _code(s)
            for i, s in enumerate(block)
        )

    old_text = text(old)
    try:
        if old and isort.code(old_text, config=settings) != old_text:
            return None
        parsed = cst.parse_module(isort.code(text(new), config=settings))
    except Exception:  # isort or libcst refusing the text: place by groups instead
        return None
    body = _lines(parsed.body)
    if parsed.header or parsed.footer or len(body) != len(parsed.body):
        return None  # comments above or below the block: they would not stay where they were
    kept = {_code(s) for s in body}
    if not body or any(_code(s) not in kept for s in old if _single_from(s) is None):
        return None  # an old line the sorter rewrote: not ours to touch
    lead = new[0].leading_lines if new else ()
    return [body[0].with_changes(leading_lines=lead), *body[1:]]


def _section(statement: cst.SimpleStatementLine, settings: Any) -> int:
    """The rank of the statement's isort section (future, stdlib, third party, ...)."""
    import isort

    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
    if isinstance(small, cst.ImportFrom) and small.relative:
        name = "." * len(small.relative)
    elif isinstance(small, cst.ImportFrom) and small.module is not None:
        name = get_full_name_for_node(small.module) or ""
    elif isinstance(small, cst.Import):
        name = get_full_name_for_node(small.names[0].name) or ""
    else:
        return len(settings.sections)
    placed = isort.place_module(name, config=settings) if not name.startswith(".") else None
    section = placed or "LOCALFOLDER"
    sections = list(settings.sections)
    return sections.index(section) if section in sections else len(sections)


def _sort_key(statement: cst.SimpleStatementLine, settings: Any) -> tuple[Any, ...]:
    from isort import sorting

    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
    is_from = isinstance(small, cst.ImportFrom)
    module = _code(statement).split()[1] if is_from or isinstance(small, cst.Import) else ""
    key = sorting.module_key(module, settings)
    text = _code(statement).lower()  # one module's lines: by the names they import
    return (key, is_from, text) if settings.force_sort_within_sections else (is_from, key, text)


def _grouped_block(
    old: list[cst.SimpleStatementLine],
    pairs: list[tuple[cst.SimpleStatementLine, cst.SimpleStatementLine | None]],
    settings: Any,
) -> list[cst.SimpleStatementLine]:
    """The old block, its merged `from` imports with their names in isort's order, and
    each added line inserted in its section (a new section gets blank lines around it)."""
    block = [
        statement if _code(match) == _code(statement) else _sort_names(statement, match, settings)
        for statement, match in pairs
        if match is not None
    ]
    added = sorted(
        (statement for statement, match in pairs if match is None),
        key=lambda s: (_section(s, settings), _sort_key(s, settings)),
    )
    for statement in added:
        if not block:  # no imports before: where AddImportsVisitor put it, as it put it
            block.append(statement)
            continue
        rank, key = _section(statement, settings), _sort_key(statement, settings)
        ranks = [_section(s, settings) for s in block]
        statement = statement.with_changes(leading_lines=())
        if rank in ranks:
            same = [i for i, r in enumerate(ranks) if r == rank]
            later = [i for i in same if _sort_key(block[i], settings) > key]
            if later and later[0] == same[0]:
                # first of its section: it takes over the lines above the section
                at = later[0]
                statement = statement.with_changes(leading_lines=block[at].leading_lines)
                block[at] = block[at].with_changes(leading_lines=())
            else:
                at = later[0] if later else same[-1] + 1
            block.insert(at, statement)
            continue
        after = [i for i, r in enumerate(ranks) if r > rank]
        if after:
            at = after[0]
            if at:  # a section of its own between two others
                statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
            else:  # the first section: it takes over the lines above the block
                statement = statement.with_changes(leading_lines=block[0].leading_lines)
                block[0] = block[0].with_changes(leading_lines=[cst.EmptyLine()])
            block.insert(at, statement)
        else:
            block.append(statement.with_changes(leading_lines=[cst.EmptyLine()]))
    return block


def _sort_names(
    statement: cst.SimpleStatementLine, old: cst.SimpleStatementLine, settings: Any
) -> cst.SimpleStatementLine:
    """A `from x import` whose names were added to (`old` before): the names in isort's
    order, laid out as the old ones were (the last keeps the last comma, the others the
    separator between the old names)."""
    from isort import sorting

    node, before = _single_from(statement), _single_from(old)
    if node is None or before is None or isinstance(node.names, cst.ImportStar):
        return statement
    names = list(node.names)
    ordered = sorted(
        names,
        key=lambda a: sorting.module_key(
            a.evaluated_name, settings, True, settings.force_alphabetical_sort_within_sections
        ),
    )
    old_names = [] if isinstance(before.names, cst.ImportStar) else list(before.names)
    separator = old_names[-2].comma if len(old_names) > 1 else names[0].comma
    if isinstance(separator, cst.MaybeSentinel):
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    last = names[-1].comma
    renamed = [a.with_changes(comma=separator) for a in ordered[:-1]]
    renamed.append(ordered[-1].with_changes(comma=last))
    return statement.with_changes(body=[node.with_changes(names=renamed)])


class BlankKeepingImportsRemover(RemoveImportsVisitor):
    """libcst's RemoveImportsVisitor, but a module-level line it removes takes none of the
    blank lines around it: the gap it stood in (after a docstring, after `from __future__`,
    between two groups) stays, and a file does not come to start with an empty line."""

    _removed: frozenset[int] = frozenset()

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not updated_node.body:  # all its imports went: libcst drops the line
            self._removed |= {id(original_node)}
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        module = super().leave_Module(original_node, updated_node)
        if len(module.body) == len(original_node.body):
            return module
        body: list[cst.BaseStatement] = []
        blanks = 0  # the widest gap above the lines removed since the last one kept
        removed = False
        it = iter(module.body)
        for statement in original_node.body:
            if id(statement) in self._removed:
                blanks, removed = max(blanks, _blank_lines(statement)), True
                continue
            line = next(it, None)
            if line is None:
                break
            if removed:
                own = _blank_lines(line)
                gap = max(blanks, own) if body else blanks  # at the top: the gap it had
                # (its own empty lines stay as they are: they may hold a form feed)
                lead = list(line.leading_lines)
                lead = [cst.EmptyLine()] * (gap - own) + lead if gap >= own else lead[own - gap :]
                line = line.with_changes(leading_lines=lead)
            body.append(line)
            blanks, removed = 0, False
        return module.with_changes(body=[*body, *it])


class KnownUnusedRemover(BlankKeepingImportsRemover):
    """BlankKeepingImportsRemover given the names `imports_unused` found unused: an
    import alias binding one of them is what libcst's gatherer would find unused, so
    the module needs no scope analysis (and no metadata) for the removal."""

    def __init__(self, context: CodemodContext, unused: frozenset[str]) -> None:
        super().__init__(context)
        self._known = unused

    @classmethod
    def get_inherited_dependencies(cls) -> frozenset[Any]:
        return frozenset()  # (the gatherer's scopes and names: not needed)

    def visit_Module(self, node: cst.Module) -> None:
        self._unused_imports = {}

    # The imports libcst's gatherer looks at (`GatherUnusedImportsVisitor.visit_Import`
    # and `visit_ImportFrom`), each seen before its `leave_` asks about it.
    def visit_Import(self, node: cst.Import) -> None:
        self._note(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = node.module
        if (
            not isinstance(node.names, cst.ImportStar)
            and module is not None
            and module.value not in MODULES_IGNORED_BY_DEFAULT
        ):
            self._note(node)

    def _note(self, node: cst.Import | cst.ImportFrom) -> None:
        assert not isinstance(node.names, cst.ImportStar)
        for alias in node.names:
            if (alias.evaluated_alias or alias.evaluated_name) in self._known:
                self._unused_imports[alias] = node


def _blank_lines(statement: cst.SimpleStatementLine | cst.BaseCompoundStatement) -> int:
    """How many empty lines (no comment) stand first above the statement."""
    count = 0
    for line in statement.leading_lines:
        if line.comment is not None:
            break
        count += 1
    return count
