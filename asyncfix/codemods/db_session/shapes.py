"""The session code the rules read and write, as libcst nodes: `name = F()`,
`yield name`, `name.close()`, and the transactional `with` AF401 and AF403 write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m

from asyncfix.codemods.db_session.names import CLOSE, Kind


def _comments(nodes: Sequence[cst.CSTNode]) -> Counter[str]:
    return Counter(
        c.value
        for node in nodes
        for c in m.findall(node, m.Comment())
        if isinstance(c, cst.Comment)
    )


def loses_comments(old: Sequence[cst.CSTNode], new: Sequence[cst.CSTNode]) -> bool:
    return bool(_comments(old) - _comments(new))


def docstring_split(
    statements: Sequence[cst.BaseStatement],
) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
    if statements and m.matches(
        statements[0],
        m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())]),
    ):
        return [statements[0]], list(statements[1:])
    return [], list(statements)


def _single_expr(stmt: cst.BaseStatement) -> cst.BaseExpression | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
    ):
        return stmt.body[0].value
    return None


def single_assign(stmt: cst.BaseStatement) -> tuple[str, cst.Call] | None:
    """`name = call(...)` or `name: T = call(...)` as one statement line."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    assign = stmt.body[0]
    if (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and isinstance(assign.value, cst.Call)
    ):
        return assign.targets[0].target.value, assign.value
    if (
        isinstance(assign, cst.AnnAssign)
        and isinstance(assign.target, cst.Name)
        and isinstance(assign.value, cst.Call)
    ):
        return assign.target.value, assign.value
    return None


def _is_method_call(expr: cst.BaseExpression | None, name: str, method: str) -> bool:
    return expr is not None and m.matches(
        expr, m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name(method)), args=[])
    )


def close_call(stmt: cst.BaseStatement, name: str, kind: Kind) -> bool:
    """`name.close()` (sync) or `await name.close()` (async), as the whole statement."""
    expr = _single_expr(stmt)
    if kind == "async":
        return isinstance(expr, cst.Await) and _is_method_call(expr.expression, name, CLOSE)
    return _is_method_call(expr, name, CLOSE)


def yields_name(stmt: cst.BaseStatement, name: str) -> bool:
    expr = _single_expr(stmt)
    return (
        isinstance(expr, cst.Yield)
        and isinstance(expr.value, cst.Name)
        and expr.value.value == name
    )


def method_calls_on(nodes: Sequence[cst.CSTNode], name: str) -> set[str]:
    """Methods called on `name` (`name.commit()` -> "commit")."""
    return {
        node.func.attr.value
        for node in nodes
        if isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and m.matches(node.func.value, m.Name(name))
    }


def block_lines(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(block, cst.IndentedBlock):
        return block.body
    assert isinstance(block, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=list(block.body))]


def leading_empties(
    lines: Sequence[cst.EmptyLine],
) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """Split leading lines into the blank ones before the first comment and the rest."""
    for i, line in enumerate(lines):
        if line.comment is not None:
            return list(lines[:i]), list(lines[i:])
    return list(lines), []


def transactional_with(
    with_node: cst.With,
    name: str,
    kind: Kind,
    yield_stmt: cst.BaseStatement,
    commit: bool,
    config: cst.PartialParserConfig,
    try_header: cst.TrailingWhitespace | None = None,
) -> cst.With:
    """`with_node` whose body becomes try: yield; [commit] / except Exception: rollback; raise.

    The `with` line keeps its own end of line (and comment); `try_header` is the end of
    the `try:` line, to keep a comment the old `try:` had."""
    aw = "await " if kind == "async" else ""
    lines = ["try:", "    yield __session__"]
    if commit:
        lines.append(f"    {aw}{name}.commit()")
    lines += ["except Exception:", f"    {aw}{name}.rollback()", "    raise"]
    newline = config.default_newline if isinstance(config.default_newline, str) else "\n"
    indent = config.default_indent if isinstance(config.default_indent, str) else "    "
    text = newline.join(line.replace("    ", indent) for line in lines) + newline
    parsed = cst.parse_statement(text, config=config)
    assert isinstance(parsed, cst.Try) and isinstance(parsed.body, cst.IndentedBlock)
    body = [yield_stmt, *parsed.body.body[1:]]
    parsed = parsed.with_changes(
        body=parsed.body.with_changes(body=body, header=try_header or parsed.body.header)
    )
    block = with_node.body
    if isinstance(block, cst.IndentedBlock):
        return with_node.with_changes(body=block.with_changes(body=[parsed]))
    assert isinstance(block, cst.SimpleStatementSuite)
    return with_node.with_changes(
        body=cst.IndentedBlock(body=[parsed], header=block.trailing_whitespace)
    )


def with_statement(
    factory_call: cst.Call, name: str, kind: Kind, config: cst.PartialParserConfig
) -> cst.With:
    text = f"{'async ' if kind == 'async' else ''}with __factory__() as {name}:\n    pass\n"
    parsed = cst.parse_statement(text, config=config)
    assert isinstance(parsed, cst.With)
    item = parsed.items[0].with_changes(item=factory_call)
    return parsed.with_changes(items=[item])


def is_fixed_scope(stmt: cst.BaseStatement, name: str | None = None) -> str | None:
    """The session name when `stmt` is `[async] with F() as s: try: yield s ... except
    Exception: [await] s.rollback(); raise` (the form AF401 writes)."""
    if not isinstance(stmt, cst.With) or len(stmt.items) != 1:
        return None
    asname = stmt.items[0].asname
    if asname is None or not isinstance(asname.name, cst.Name):
        return None
    session = asname.name.value
    if name is not None and session != name:
        return None
    inner = block_lines(stmt.body)
    if len(inner) != 1 or not isinstance(inner[0], cst.Try):
        return None
    tried = inner[0]
    kind: Kind = "async" if stmt.asynchronous else "sync"
    body = block_lines(tried.body)
    if not body or not yields_name(body[0], session) or len(body) > 2:
        return None
    if len(body) == 2:
        commit = _single_expr(body[1])
        if kind == "async":
            commit = commit.expression if isinstance(commit, cst.Await) else None
        if not _is_method_call(commit, session, "commit"):
            return None
    if tried.orelse is not None or tried.finalbody is not None or len(tried.handlers) != 1:
        return None
    handler = tried.handlers[0]
    handled = block_lines(handler.body)
    rollback = _single_expr(handled[0]) if handled else None
    if kind == "async":
        rollback = rollback.expression if isinstance(rollback, cst.Await) else None
    if (
        not isinstance(handler.type, cst.Name)
        or handler.type.value != "Exception"
        or handler.name is not None
        or len(handled) != 2
        or not _is_method_call(rollback, session, "rollback")
        or not m.matches(handled[1], m.SimpleStatementLine(body=[m.Raise(exc=None)]))
    ):
        return None
    return session
