"""AF207: `subprocess.Popen` waited on inside an `async def`.

`proc = subprocess.Popen(...)` then `proc.communicate()`, `proc.wait()` or
`proc.stdout.read()` holds the event loop until the child exits. asyncio's own subprocess
API takes the same arguments (it hands them to Popen) and its Process has the same
`communicate`, `wait`, `returncode` and `pid`, as coroutines: a rewrite that keeps the
arguments, the pipes, the return code and the exceptions (OSError when the program cannot
be started, raised by the awaited call instead of by Popen). Text mode is the one
difference: asyncio's pipes are binary, so the output is decoded the way Popen decodes it.
Any other use of the process (poll, kill, a timeout, text reads of a pipe, handing it on)
has no exact equivalent: the site is reported instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    inside_sync_lock,
    is_primary_operand,
    loop_context,
    make_await,
    module_name_at,
)
from asyncfix.codemods.http_client.blocking_apis import POPEN
from asyncfix.codemods.http_client.screens import screen_popen
from asyncfix.codemods.http_client.sites_cst import names_of

AF207 = Rule(
    code="AF207",
    name="popen-in-async",
    summary=(
        "subprocess.Popen waited on in async def -> await asyncio.create_subprocess_exec/_shell"
    ),
    why=(
        "Popen.communicate(), .wait() and reads of its pipes block until the child process "
        "is done: in an async def every other request on this worker waits for it."
    ),
    fix=(
        "`proc = await asyncio.create_subprocess_exec(*args, ...)` (`_shell` with "
        "shell=True) with the same keyword arguments, and `await` on communicate(), wait() "
        "and pipe reads; returncode and pid are read as before. With text=True (or "
        "universal_newlines, encoding, errors) the input is encoded and the output decoded "
        "as Popen does (its encoding, or the locale's, and universal newlines). Reported "
        "instead: any other use of the process (poll, kill, send_signal, a timeout, text "
        "reads of a pipe, the process passed on or stored), `with Popen(...)`, arguments "
        "that may be a string without shell=True, bufsize, and the sites a new await must "
        "not split (a critical section, a thread lock, a generator expression)."
    ),
    before=(
        "import subprocess\n"
        "\n"
        "\n"
        "async def describe():\n"
        '    proc = subprocess.Popen(["git", "describe"], stdout=subprocess.PIPE)\n'
        "    out, _ = proc.communicate()\n"
        "    return proc.returncode, out\n"
    ),
    after=(
        "import asyncio\n"
        "import subprocess\n"
        "\n"
        "\n"
        "async def describe():\n"
        '    proc = await asyncio.create_subprocess_exec("git", "describe", '
        "stdout=subprocess.PIPE)\n"
        "    out, _ = await proc.communicate()\n"
        "    return proc.returncode, out\n"
    ),
)

_PIPE = "subprocess.PIPE"
_TEXT_KEYWORDS = ("text", "universal_newlines", "encoding", "errors")
# Keywords asyncio refuses (it needs binary, unbuffered pipes) that have no rewrite here.
_REFUSED_KEYWORDS = frozenset({"bufsize"})
# Attributes of the process that read the same on asyncio's Process.
_SAME_ATTRIBUTES = frozenset({"returncode", "pid"})
_PIPES = ("stdin", "stdout", "stderr")
_EMPTY = cst.Module([])
_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


@dataclass
class _Plan:
    """The rewrite of one `name = subprocess.Popen(...)` and of the uses of `name`."""

    factory: str  # create_subprocess_exec or create_subprocess_shell
    command: list[cst.Arg]  # the arguments that replace Popen's first
    decode: cst.BaseExpression | None  # `(encoding, errors)` args, text mode only
    awaited: list[cst.Call] = field(default_factory=list)
    # communicate() assignments whose targets are decoded after them (target names).
    decoded: dict[cst.SimpleStatementLine, list[str]] = field(default_factory=dict)
    inputs: list[cst.Arg] = field(default_factory=list)  # communicate inputs to encode


class PopenToAsyncio(AsyncfixCodemod):
    NAME = "popen-to-asyncio"
    FAMILY = "http_client"
    RULES = (AF207,)
    TRIGGERS = (b"async", b"Popen")
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, context: object, run: object) -> None:
        super().__init__(context, run)  # type: ignore[arg-type]
        self._popens: dict[cst.Call, _Plan] = {}
        self._awaits: set[cst.Call] = set()
        self._inputs: dict[cst.Arg, _Plan] = {}
        self._after: dict[cst.SimpleStatementLine, list[cst.BaseStatement]] = {}
        self._asyncio = "asyncio"

    SCREEN = staticmethod(screen_popen)

    # -- finding the sites -------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if not names_of(POPEN, self, node):
            return
        scope = self.get_metadata(ScopeProvider, node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return  # sync code may wait on a child process
        parent = self.get_metadata(ParentNodeProvider, node, None)
        target = _assigned_name(parent, node)
        message = "subprocess.Popen waited on inside async def blocks the event loop"
        if target is None:
            if isinstance(parent, cst.WithItem):
                self.report(
                    node,
                    "AF207",
                    message,
                    reason=(
                        "`with Popen(...)` waits for the child at its end, and asyncio's "
                        "Process is not a context manager: rewrite the block by hand"
                    ),
                )
            elif isinstance(parent, cst.Attribute) and parent.value is node:
                self.report(node, "AF207", message, reason="the process is not kept in a variable")
            return  # a Popen nobody waits on here: starting a child does not block long
        uses, reason = self._uses(scope, target)
        if not any(_blocking(u) for u in uses):
            return
        plan = None
        if reason is None:
            plan, reason = self._plan(node, scope, uses)
        if reason is None and where.in_generator_expression:
            reason = "inside a generator expression an await would make it an async generator"
        if reason is None and inside_sync_lock(self._statements, where.function):
            reason = "awaiting while a thread lock is held can deadlock the event loop"
        if reason is None and plan is not None:
            reason = split_section(
                where.function, scope, node, *plan.awaited, module=self.run.original
            )
        asyncio = module_name_at(scope, "asyncio")
        if reason is None and asyncio is None:
            reason = "the name `asyncio` is bound to something else here"
        locale = module_name_at(scope, "locale")
        if (locale is None or locale.name != "locale") and plan is not None and plan.decode:
            reason = reason or "the name `locale` is bound to something else here"
        if reason is not None or plan is None or asyncio is None:
            self.report(node, "AF207", message, reason=reason)
            return
        fix = f"; use await asyncio.{plan.factory}()"
        if not self.report(node, "AF207", message + fix):
            return
        if asyncio.needs_import:
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
        if plan.decode is not None and _uses_locale(plan.decode) and locale and locale.needs_import:
            AddImportsVisitor.add_needed_import(self.context, "locale")
        self._asyncio = asyncio.name
        self._popens[node] = plan
        self._awaits.update(plan.awaited)
        for arg in plan.inputs:
            self._inputs[arg] = plan
        for statement, names in plan.decoded.items():
            assert plan.decode is not None
            self._after[statement] = [_decode_statement(n, plan.decode) for n in names]

    def _uses(self, scope: Scope, name: cst.Name) -> tuple[list[cst.CSTNode], str | None]:
        """The nodes that use the process: `name.attr`, or the call `name.method(...)`
        (`name.stdout.read()`); and why they cannot be rewritten, if the name is bound more
        than once (the process may not be the one used)."""
        bound = list(scope.assignments[name.value])
        uses: list[cst.CSTNode] = []
        nested = False
        for assignment in bound:
            for access in assignment.references:
                uses.append(self._use_of(access.node))
                nested = nested or self.get_metadata(ScopeProvider, access.node, None) is not scope
        if len(bound) != 1 or not isinstance(bound[0], Assignment):
            return uses, f"`{name.value}` is bound more than once in this function"
        if nested:
            return uses, f"`{name.value}` is used in a nested function or comprehension"
        return uses, None

    def _use_of(self, node: cst.CSTNode) -> cst.CSTNode:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if not (isinstance(parent, cst.Attribute) and parent.value is node):
            return node  # passed on, stored, returned: not rewritable
        outer = self.get_metadata(ParentNodeProvider, parent, None)
        if isinstance(outer, cst.Call) and outer.func is parent:
            return outer
        if (
            parent.attr.value in _PIPES
            and isinstance(outer, cst.Attribute)
            and outer.value is parent
        ):
            call = self.get_metadata(ParentNodeProvider, outer, None)
            return call if isinstance(call, cst.Call) and call.func is outer else outer
        return parent

    def _plan(
        self, popen: cst.Call, scope: Scope, uses: Sequence[cst.CSTNode]
    ) -> tuple[_Plan | None, str | None]:
        if any(a.star for a in popen.args):
            return None, "the arguments are unpacked (*args, **kwargs): they cannot be checked"
        positional = [a for a in popen.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in popen.args if a.keyword is not None}
        if len(positional) != 1 or "args" in keywords:
            return None, "only Popen(args, **keywords) is rewritten"
        refused = sorted(_REFUSED_KEYWORDS & keywords.keys())
        if refused:
            return None, f"asyncio's pipes are unbuffered: `{refused[0]}=` has no equivalent"
        shell = _literal(keywords.get("shell"))
        text = [_literal(keywords.get(k)) for k in ("text", "universal_newlines")]
        if shell is None or None in text:
            return None, "shell= or text= is not a literal: which API to use is unknown"
        text_mode = any(text) or "encoding" in keywords or "errors" in keywords
        command = positional[0].value
        if shell:
            args = [cst.Arg(command)]
        else:
            elements = self._sequence(command, scope)
            if elements is None:
                return None, (
                    "the command may be a string (a program name) rather than a list: "
                    "asyncio.create_subprocess_exec needs the arguments one by one"
                )
            args = elements
        decode = _codec_args(keywords) if text_mode else None
        factory = "create_subprocess_shell" if shell else "create_subprocess_exec"
        plan = _Plan(factory=factory, command=args, decode=decode)
        piped = {s: self._piped(keywords.get(s)) for s in ("stdout", "stderr")}
        for use in uses:
            reason = self._use(use, plan, text_mode, piped)
            if reason is not None:
                return None, reason
        return plan, None

    def _use(
        self,
        use: cst.CSTNode,
        plan: _Plan,
        text_mode: bool,
        piped: dict[str, bool | None],
    ) -> str | None:
        """Add one use of the process to `plan`, or say why it cannot be rewritten."""
        if isinstance(use, cst.Attribute) and use.attr.value in _SAME_ATTRIBUTES:
            return None
        if isinstance(use, cst.Attribute) and use.attr.value in _PIPES:
            return (
                f"its pipe `.{use.attr.value}` is used directly (iterated, passed on): "
                "asyncio's pipes are StreamReaders and StreamWriters"
            )
        if isinstance(use, cst.Name):
            return "the process is passed on or stored: its users would need asyncio's API"
        if not isinstance(use, cst.Call) or not isinstance(use.func, cst.Attribute):
            return "the process is used in a way asyncio's Process does not match"
        method = use.func.attr.value
        if isinstance(use.func.value, cst.Attribute):  # proc.stdout.read()
            if method != "read" or use.args:
                return f"`.{method}()` on a pipe reads differently from asyncio's StreamReader"
            if text_mode:
                return "a text-mode pipe read: asyncio's pipes are binary"
            plan.awaited.append(use)
            return None
        if method == "wait" and not use.args:
            plan.awaited.append(use)
            return None
        if method != "communicate":
            return f"`.{method}()` has no exact asyncio equivalent here"
        if any(a.keyword is not None and a.keyword.value == "timeout" for a in use.args):
            return "communicate(timeout=...) raises TimeoutExpired; asyncio needs wait_for"
        if len(use.args) > 1 or any(a.star for a in use.args):
            return "communicate() with unusual arguments"
        if text_mode and use.args:
            plan.inputs.append(use.args[0])
        plan.awaited.append(use)
        if not text_mode:
            return None
        # Text mode: the output must be decoded, which only a plain unpacking allows.
        parent = self.get_metadata(ParentNodeProvider, use, None)
        line = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        if isinstance(parent, cst.Expr):
            return None  # dropped: nothing to decode
        if not (
            isinstance(parent, cst.Assign)
            and isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
            and len(parent.targets) == 1
            and isinstance(parent.targets[0].target, cst.Tuple)
        ):
            return "the text-mode output of communicate() is not unpacked into two names"
        elements = parent.targets[0].target.elements
        if len(elements) != 2 or not all(isinstance(e.value, cst.Name) for e in elements):
            return "the text-mode output of communicate() is not unpacked into two names"
        names: list[str] = []
        for element, stream in zip(elements, ("stdout", "stderr"), strict=True):
            assert isinstance(element.value, cst.Name)
            if piped[stream] is None:
                return f"whether {stream} is a pipe is unknown: what to decode is unknown"
            if piped[stream] and element.value.value != "_":
                names.append(element.value.value)
        if names:
            plan.decoded[line] = names
        return None

    def _piped(self, arg: cst.Arg | None) -> bool | None:
        if arg is None:
            return False
        value = arg.value
        if QualifiedNameProvider.has_name(self, value, _PIPE):
            return True
        if isinstance(value, cst.Name) and value.value == "None":
            return False
        names = self.get_metadata(QualifiedNameProvider, value, set())
        if any(q.name in ("subprocess.DEVNULL", "subprocess.STDOUT") for q in names):
            return False
        return None

    def _sequence(self, command: cst.BaseExpression, scope: Scope) -> list[cst.Arg] | None:
        """The command's arguments one by one: a list or tuple display, or a name bound
        once, in this scope, to one (`*cmd`)."""
        if isinstance(command, cst.List | cst.Tuple):
            return [
                cst.Arg(e.value, star="*" if isinstance(e, cst.StarredElement) else "")
                for e in command.elements
            ]
        if not isinstance(command, cst.Name) or command.value not in scope.assignments:
            return None
        bound = list(scope.assignments[command.value])
        if len(bound) != 1 or not isinstance(bound[0], Assignment):
            return None
        parent = self.get_metadata(ParentNodeProvider, bound[0].node, None)
        if isinstance(parent, cst.AssignTarget):
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        value = getattr(parent, "value", None)
        if isinstance(parent, cst.Assign | cst.AnnAssign) and isinstance(
            value, cst.List | cst.Tuple | cst.ListComp
        ):
            return [cst.Arg(command, star="*")]
        return None

    # -- the rewrite -------------------------------------------------------------------------

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        plan = self._inputs.get(original_node)
        if plan is None or plan.decode is None:
            return updated_node
        encoded = cst.Call(
            func=cst.Attribute(_primary(updated_node.value), cst.Name("encode")),
            args=_codec_call_args(plan.decode),
        )
        return updated_node.with_changes(value=encoded)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        plan = self._popens.get(original_node)
        if plan is not None:
            return make_await(self._rebuilt(updated_node, plan), as_primary=False)
        if original_node in self._awaits:
            parent = self.get_metadata(ParentNodeProvider, original_node, None)
            return make_await(updated_node, as_primary=is_primary_operand(parent, original_node))
        return updated_node

    def _rebuilt(self, call: cst.Call, plan: _Plan) -> cst.Call:
        """The asyncio call: Popen's first argument spread out, its other keywords kept as
        written (text mode's are dropped: asyncio's pipes are binary, decoded after)."""
        first, *rest = call.args
        kept = [
            a
            for a in rest
            if a.keyword is not None and a.keyword.value not in ("shell", *_TEXT_KEYWORDS)
        ]
        command = [a.with_changes(comma=_COMMA) for a in plan.command]
        if command and kept and isinstance(first.comma, cst.Comma):
            command[-1] = command[-1].with_changes(comma=first.comma)  # its line break
        args = [*command, *kept]
        if args:  # the call's own trailing comma, or none
            args[-1] = args[-1].with_changes(comma=call.args[-1].comma)
        func = cst.Attribute(cst.Name(self._asyncio), cst.Name(plan.factory))
        return call.with_changes(func=func, args=args)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.BaseStatement]:
        after = self._after.get(original_node)
        if not after:
            return updated_node
        return cst.FlattenSentinel([updated_node, *after])


def _assigned_name(parent: cst.CSTNode | None, call: cst.Call) -> cst.Name | None:
    """`name` in `name = <call>` (the only target)."""
    if (
        isinstance(parent, cst.Assign)
        and parent.value is call
        and len(parent.targets) == 1
        and isinstance(parent.targets[0].target, cst.Name)
    ):
        return parent.targets[0].target
    if (
        isinstance(parent, cst.AnnAssign)
        and parent.value is call
        and isinstance(parent.target, cst.Name)
    ):
        return parent.target
    return None


def _blocking(use: cst.CSTNode) -> bool:
    """communicate(), wait() or a pipe used (read, iterated): what holds the loop until the
    child is done or writes."""
    if isinstance(use, cst.Attribute):
        return use.attr.value in _PIPES
    if not isinstance(use, cst.Call) or not isinstance(use.func, cst.Attribute):
        return False
    if isinstance(use.func.value, cst.Attribute):
        return True  # a method of one of its pipes
    return use.func.attr.value in ("communicate", "wait")


def _literal(arg: cst.Arg | None) -> bool | None:
    """A keyword's literal truth (absent: False); None when it is not a literal."""
    if arg is None:
        return False
    value = arg.value
    if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
        return value.value == "True"
    if isinstance(value, cst.Integer):
        return value.evaluated_value != 0
    return None


def _codec_args(keywords: dict[str, cst.Arg]) -> cst.Tuple:
    """(encoding, errors) as Popen's text mode uses them: its own, or the locale's."""
    encoding = keywords.get("encoding")
    errors = keywords.get("errors")
    locale_default = cst.Call(
        func=cst.Attribute(cst.Name("locale"), cst.Name("getpreferredencoding")),
        args=[cst.Arg(cst.Name("False"))],
    )
    elements = [cst.Element(encoding.value if encoding is not None else locale_default)]
    if errors is not None:
        elements.append(cst.Element(errors.value))
    return cst.Tuple(elements)


def _codec_call_args(codec: cst.BaseExpression) -> list[cst.Arg]:
    assert isinstance(codec, cst.Tuple)
    return _commas([cst.Arg(e.value) for e in codec.elements])


def _uses_locale(codec: cst.BaseExpression) -> bool:
    return "locale.getpreferredencoding" in _EMPTY.code_for_node(codec)


def _decode_statement(name: str, codec: cst.BaseExpression) -> cst.SimpleStatementLine:
    # What Popen's text mode does to the output: decode, then universal newlines.
    decoded = cst.Call(
        func=cst.Attribute(cst.Name(name), cst.Name("decode")), args=_codec_call_args(codec)
    )
    translated: cst.BaseExpression = decoded
    for old, new in (('"\\r\\n"', '"\\n"'), ('"\\r"', '"\\n"')):
        translated = cst.Call(
            func=cst.Attribute(translated, cst.Name("replace")),
            args=_commas([cst.Arg(cst.SimpleString(old)), cst.Arg(cst.SimpleString(new))]),
        )
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], translated)])


def _primary(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.Name | cst.Attribute | cst.Call | cst.Subscript) or node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _commas(args: list[cst.Arg]) -> list[cst.Arg]:
    return [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if i < len(args) - 1
        else a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        for i, a in enumerate(args)
    ]
