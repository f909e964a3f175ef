"""`FileRun`'s caches: what the codemods of one run over one file share to answer fast."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Literal, TypeVar

import libcst as cst
from libcst.metadata import (
    CodePosition,
    CodeRange,
    MetadataWrapper,
    PositionProvider,
)
from libcst.metadata.position_provider import PositionProvidingCodegenState

from asyncfix import syntax
from asyncfix.codemods.speed.metadata import FastWrapper, child_nodes, release_scopes
from asyncfix.linediff import Matcher

_T = TypeVar("_T")


class FileCaches:
    """What `FileRun` (asyncfix.codemods.base) keeps per file to answer fast: the stdlib
    ast, each tree's bytes, metadata and line map, and positions in the original tree."""

    original: cst.Module
    source: bytes
    parsed_ast: ast.Module | None

    def __post_init__(self) -> None:
        self._positions: Mapping[cst.CSTNode, CodeRange] | None = None
        # Positions of single statements (top-level, or in the body of a def or class),
        # with the lines to add (see original_position).
        self._statement_positions: dict[int, tuple[Mapping[cst.CSTNode, CodeRange], int]] = {}
        # id of each top-level statement -> its stdlib ast statement (see _statement_asts)
        self._top_asts: dict[int, ast.stmt] | None = None
        self._source_lines: list[bytes] | None = None
        # Metadata resolved per tree: a codemod that changes nothing hands the same tree to the
        # next one (see Pipeline.rewrite), which then reuses its scopes instead of recomputing.
        self._wrappers: dict[int, tuple[cst.Module, MetadataWrapper]] = {}
        self._syntax_tree: ast.Module | Literal[False] | None = None
        self._line_maps: dict[int, tuple[cst.Module, dict[int, int]]] = {}
        self._codes: dict[int, tuple[cst.Module, bytes]] = {}
        self._trees: dict[int, tuple[cst.Module, ast.Module | None]] = {}
        # id of each top-level statement of the original tree -> its index, and where
        # `_top_statement`'s last search ended (see there).
        self._top_index: dict[int, int] | None = None
        self._search_from = 0

    def syntax_tree(self) -> ast.Module | None:
        """The stdlib `ast` of the source, parsed once per file and shared: a screen that
        walks it is many times cheaper than one that walks the libcst tree."""
        if self._syntax_tree is None and self.parsed_ast is not None:
            self._syntax_tree = self.parsed_ast
        if self._syntax_tree is None:
            try:
                # A run made without its bytes (a plan replaying codemods) has the tree.
                self._syntax_tree = syntax.parse(self.source or self.original.code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._syntax_tree = False
        return self._syntax_tree or None

    def bytes_of(self, module: cst.Module) -> bytes:
        """The module's bytes: the file's own for the tree as parsed (libcst round-trips
        exactly), else made once per tree (a codegen costs about a fifth of a parse)."""
        if module is self.original and self.source:
            return self.source
        if id(module) not in self._codes:
            self._forget_older(self._codes)
            self._codes[id(module)] = (module, module.bytes)
        return self._codes[id(module)][1]

    def code_bytes(self, module: cst.Module) -> bytes:
        """`module.code` in UTF-8, made once per tree (`bytes_of`) where those are its
        bytes: a module whose encoding is UTF-8 and which is not the file as parsed with
        the lone CR at its end that libcst's code drops."""
        original_cr = module is self.original and self.source.endswith(b"\r")
        if module.encoding == "utf-8" and not original_cr:
            return self.bytes_of(module)
        return module.code.encode("utf-8")

    def tree_of(self, module: cst.Module) -> ast.Module | None:
        """The stdlib ast of a tree an earlier codemod rewrote (the original's is
        `syntax_tree`): parsed once per tree, where several screens and the codemods'
        indexing each parsed its code again; None where Python cannot parse it."""
        if id(module) not in self._trees:
            self._forget_older(self._trees)
            tree: ast.Module | None
            # (the code as text where its bytes are not UTF-8: a coding cookie must not
            # make the parser read them otherwise)
            code = self.bytes_of(module) if module.encoding == "utf-8" else module.code
            try:
                tree = syntax.parse(code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            self._trees[id(module)] = (module, tree)
        return self._trees[id(module)][1]

    def wrapper(self, module: cst.Module) -> MetadataWrapper:
        if id(module) not in self._wrappers:
            self._forget_older(self._wrappers)
            self._wrappers[id(module)] = (module, FastWrapper(module, unsafe_skip_copy=True))
        return self._wrappers[id(module)][1]

    def release(self) -> None:
        """The run is over: its trees' scopes are freed now (see `release_scopes`), not left
        for a collection to find. Nothing may ask this run's metadata after this."""
        for _, wrapper in self._wrappers.values():
            release_scopes(wrapper)
        self._wrappers.clear()

    def _forget_older(self, cache: dict[int, tuple[cst.Module, _T]]) -> None:
        """Drop what `cache` holds for rewritten trees: a new tree is asked about, and
        the codemods hand each tree on, never go back to an older one (the original
        tree's entry stays: positions are resolved there). A tree's metadata is most of
        its size again: at 200 KB, dropped and collected, a fifth of the peak (scopes
        are reference cycles: they go at the collector's next full pass)."""
        for key in [key for key, (module, _) in cache.items() if module is not self.original]:
            del cache[key]

    def original_line(self, module: cst.Module, line: int) -> int:
        """A line of `module` (a rewritten tree) -> the line the user wrote it at, through
        a line diff; lines a rewrite inserted map to where they were inserted."""
        if module is self.original:
            return line
        if id(module) not in self._line_maps:
            self._forget_older(self._line_maps)
            self._line_maps[id(module)] = (module, map_lines(self.original.code, module.code))
        return self._line_maps[id(module)][1].get(line, line)

    def original_position(
        self,
        node: cst.CSTNode,
        statement: cst.CSTNode | None = None,
        inner: Sequence[cst.CSTNode] = (),
    ) -> CodeRange | None:
        """`node`'s position in the original tree. `statement`: the top-level statement
        that holds it, when the caller knows: then only that statement's positions are
        made, not the whole module's (each takes a codegen of what it covers). `inner`:
        the statements below it that hold the node, outermost first (a codemod's stack):
        then only those of the innermost def or class body statement on that path."""
        # Positions are resolved on the original tree, lazily: only a file with a finding
        # pays for them, and findings point at the lines the user actually wrote.
        if self._positions is None and statement is None:
            statement = self._top_statement(node)
        if self._positions is None and statement is not None:
            found = self._inner_position(node, statement, inner) if inner else None
            if found is None:
                found = self._statement_position(node, statement)
            if found is not None:
                return found
        if self._positions is None:
            wrapper = MetadataWrapper(self.original, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions.get(node)

    def _top_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The original tree's top-level statement that holds `node` (a finding reported
        outside a codemod's visit has no statement of its own): through the tree's
        parents where a codemod resolved them, else a search of the statements; either
        costs a fraction of the whole module's positions."""
        held = self._wrappers.get(id(self.original))
        parents = getattr(held[1], "_parents", None) if held is not None else None
        if parents:
            while node in parents:
                parent = parents[node]
                if parent is self.original:
                    return node
                node = parent
            return None
        body = self.original.body
        if self._top_index is None:
            self._top_index = {id(statement): i for i, statement in enumerate(body)}
        # A top-level def reported on leaving it (its statement is closed by then).
        if id(node) in self._top_index:
            return node
        # Findings come in the order of the source: the search starts at the statement
        # the last one was found in and goes round, so a module's findings cost one walk
        # of it in all, not one each (a parsed tree holds each node object once).
        count = len(body)
        for offset in range(count):
            index = (self._search_from + offset) % count
            stack: list[cst.CSTNode] = [body[index]]
            while stack:
                below = stack.pop()
                if below is node:
                    self._search_from = index
                    return body[index]
                stack.extend(child_nodes(below))
        return None

    def _statement_position(self, node: cst.CSTNode, statement: cst.CSTNode) -> CodeRange | None:
        """The position of `node` from its top-level statement's own codegen, moved down
        to the line the statement's first token has in the file (from the stdlib ast).
        None when that cannot be told for sure: then the module's positions are made."""
        if id(statement) not in self._statement_positions:
            top = self._statement_asts().get(id(statement))
            made = ({}, 0) if top is None else self._positions_of(statement, top.lineno, ())
            self._statement_positions[id(statement)] = made
        return self._shifted(node, self._statement_positions[id(statement)])

    def _inner_position(
        self, node: cst.CSTNode, statement: cst.CSTNode, inner: Sequence[cst.CSTNode]
    ) -> CodeRange | None:
        """The position of `node` from the codegen of the innermost statement of `inner`
        reached through the bodies of defs and classes only (a method of a class of a
        thousand lines costs its own lines), at the line and indentation it has in the
        file (the stdlib ast's statement in the same place of the same body). None where
        the path holds no such statement or the node is not under it."""
        level: cst.CSTNode = statement
        below_ast = self._statement_asts().get(id(statement))
        indents: list[str] = []
        deepest: tuple[cst.CSTNode, int, tuple[str, ...]] | None = None
        for below in inner:
            if below_ast is None or not isinstance(level, cst.FunctionDef | cst.ClassDef):
                break
            block = level.body
            if not isinstance(block, cst.IndentedBlock) or not isinstance(
                below_ast, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            ):
                break
            pairs = _body_asts(block.body, below_ast.body)
            if pairs is None or id(below) not in pairs:
                break
            indents.append(self.original.default_indent if block.indent is None else block.indent)
            level, below_ast = below, pairs[id(below)]
            deepest = (level, below_ast.lineno, tuple(indents))
        if deepest is None:
            return None
        level, first, held = deepest
        if id(level) not in self._statement_positions:
            self._statement_positions[id(level)] = self._positions_of(level, first, held)
        return self._shifted(node, self._statement_positions[id(level)])

    @staticmethod
    def _shifted(
        node: cst.CSTNode, made: tuple[Mapping[cst.CSTNode, CodeRange], int]
    ) -> CodeRange | None:
        positions, shift = made
        found = positions.get(node)
        if found is None or not shift:
            return found
        start, end = found.start, found.end
        return CodeRange(
            CodePosition(start.line + shift, start.column),
            CodePosition(end.line + shift, end.column),
        )

    def _positions_of(
        self, statement: cst.CSTNode, first: int, indents: tuple[str, ...]
    ) -> tuple[Mapping[cst.CSTNode, CodeRange], int]:
        """The positions of the nodes of `statement` from one codegen of it alone, under
        the indentation of the blocks around it, and the lines to add to them: its first
        token is on line `first` of the file. Empty where the statement's lines are not
        the file's own at that place (anything libcst and the ast count differently, a
        BOM, odd line breaks): the caller then takes a slower way."""
        # libcst's PositionProvider on a module of this statement alone, minus the module:
        # the codegen that records the positions also gives the lines to check.
        module = self.original
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=provider,
            indent_tokens=list(indents),
        )
        statement._codegen(state)
        # (the provider records only CodeRanges, no lazy values)
        positions: Mapping[cst.CSTNode, CodeRange] = provider._computed  # type: ignore[assignment]
        shift = first - positions[statement].start.line
        if self._source_lines is None:
            self._source_lines = self.source.splitlines()
        lines = "".join(state.tokens).encode(module.encoding).splitlines()
        have = self._source_lines[shift : shift + len(lines)]
        return (positions, shift) if shift >= 0 and have == lines else ({}, 0)

    def _statement_asts(self) -> dict[int, ast.stmt]:
        """id of each top-level statement of the original tree -> the stdlib ast's
        statement in its place (see `_body_asts`), whose `lineno` is the line of its first
        token (not its comments; a def's `def`, not its decorators'). Made once."""
        if self._top_asts is None:
            tree = self.syntax_tree() if self.source else None
            found = None if tree is None else _body_asts(self.original.body, tree.body)
            self._top_asts = found or {}
        return self._top_asts


def _body_asts(
    body: Sequence[cst.CSTNode], statements: Sequence[ast.stmt]
) -> dict[int, ast.stmt] | None:
    """id of each statement of a libcst body -> the stdlib ast's statement in the same
    place of the same body (the first of a simple statement line's); None where the two
    do not pair up."""
    found: dict[int, ast.stmt] = {}
    index = 0
    for statement in body:
        if index >= len(statements):
            return None
        found[id(statement)] = statements[index]
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return found if index == len(statements) else None


def map_lines(original: str, current: str) -> dict[int, int]:
    """Line of `current` -> line of `original` (1-based); inserted lines map to the
    original line they were inserted at."""
    matcher = Matcher(original.splitlines(), current.splitlines())
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            offset = min(j - j1, max(i2 - i1 - 1, 0)) if tag != "insert" else 0
            mapping[j + 1] = i1 + offset + 1
    return mapping
