"""Critical sections a new `await` would split (issue 22, item 3).

Between two awaits an `async def` runs alone on the event loop: code that reads shared state
and writes it back with no await in between is atomic with respect to every other task. A
rewrite that adds a suspension point there (`await asyncio.to_thread(...)`, an async client
call, `await asyncio.sleep()`) lets concurrent calls interleave between the read and the write:
lost updates, or a file read while another task is half-way through rewriting it. Every
codemod that adds an await asks `split_section` first and reports instead of rewriting.

The model is static and conservative. The function's body is flattened into the order it
runs in (branches one after the other; a loop around the new await twice, for the next
iteration), and "shared" means what other tasks can reach: an attribute of `self` or `cls`,
a module global (not an import, def or class), the application a request belongs to
(`request.app.state.n`), a container reached from any of them (also through a local
alias), and a file named by the same expression.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst
from libcst.metadata import Assignment, ComprehensionScope, ImportAssignment, Scope

REASON = "concurrent calls could interleave between the read and the write of {what}"

# Methods that change the container they are called on (list, dict, set, deque, a file).
_MUTATORS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "insert",
        "remove",
        "pop",
        "popleft",
        "popitem",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "sort",
        "reverse",
        "rotate",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "write",
        "writelines",
        "truncate",
    }
)
# pathlib's methods on the file a path names: its queries are reads too
# (`if p.is_file(): os.remove(p)` is a check, then an act on p).
_PATH_READS = frozenset(
    {"read_text", "read_bytes", "exists", "is_file", "is_dir", "is_symlink", "stat", "lstat",
     "iterdir", "glob", "rglob", "samefile"}
)  # fmt: skip
_PATH_WRITES = frozenset(
    {"write_text", "write_bytes", "touch", "unlink", "mkdir", "rmdir", "rename", "replace",
     "symlink_to", "hardlink_to", "chmod"}
)  # fmt: skip
# Functions of os, os.path and shutil that read or change the files their arguments name
# (AF204 offloads them): `if not os.path.exists(p): open(p, "w")` is a read, then a write.
_FS_READS = frozenset(
    {"exists", "isfile", "isdir", "islink", "getsize", "getmtime", "getatime", "getctime",
     "stat", "lstat", "access", "listdir", "scandir", "walk", "samefile"}
)  # fmt: skip
_FS_WRITES = frozenset(
    {"remove", "unlink", "rename", "renames", "replace", "makedirs", "mkdir", "rmdir",
     "removedirs", "rmtree", "copy", "copy2", "copyfile", "copytree", "move", "link",
     "symlink"}
)  # fmt: skip
_EMPTY = cst.Module([])

Kind = Literal["read", "write", "await", "enter", "leave"]


@dataclass(frozen=True)
class _Event:
    kind: Kind
    key: str = ""  # the shared state read or written, as shown to the user


@dataclass(frozen=True)
class _File:
    key: str
    reads: bool
    writes: bool


@dataclass
class _Flattener:
    """The events of one function body in the order they run."""

    function: cst.FunctionDef
    candidate: cst.CSTNode
    scope: Scope | None
    events: list[_Event] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> shared state
    files: dict[str, _File] = field(default_factory=dict)  # local name -> an open file
    entered: bool = False  # inside the candidate
    module: cst.Module | None = None  # the file's module, for what its own classes make
    _instances: set[str] | None = None  # module globals made by the module's own classes

    def __post_init__(self) -> None:
        params = self.function.params.params
        self.owner = params[0].name.value if params else None
        if self.owner not in ("self", "cls"):
            self.owner = None

    # -- what is shared --------------------------------------------------------------------

    def _is_global(self, name: str) -> bool:
        """A module-level variable: assigned at module level, not an import, def or class."""
        scope = self.scope
        if scope is None or name not in scope:
            return False
        found = scope[name]
        return bool(found) and all(
            isinstance(a, Assignment)
            and not isinstance(a, ImportAssignment)
            and a.scope is scope.globals
            and not isinstance(a.node, cst.FunctionDef | cst.ClassDef)
            for a in found
        )

    def shared(self, node: cst.BaseExpression) -> str | None:
        """The shared state an access path (`self.a[k].b`, `CACHE[k]`, an alias) reaches."""
        chain: list[cst.BaseExpression] = []
        while isinstance(node, cst.Attribute | cst.Subscript):
            chain.append(node)
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        name = node.value
        if name in self.aliases:
            return self.aliases[name]
        if name == self.owner:
            first = chain[-1] if chain else None
            if isinstance(first, cst.Attribute):
                return f"`{name}.{first.attr.value}`"
            return None
        if name in self.files:
            return None
        if self._is_global(name):
            return f"the module global `{name}`"
        return _application_state(name, chain)

    def _is_module(self, node: cst.BaseExpression) -> bool:
        scope = self.scope
        if not isinstance(node, cst.Name) or scope is None or node.value not in scope:
            return False
        found = scope[node.value]
        return bool(found) and all(isinstance(a, ImportAssignment) for a in found)

    def _file_function(self, func: cst.BaseExpression) -> bool:
        """`os.path.exists`, `shutil.rmtree`, `exists` imported from os.path...: a function of
        a module that reads or changes files (a method of another object is not)."""
        name = _last_name(func)
        if name not in _FS_READS | _FS_WRITES:
            return False
        if isinstance(func, cst.Attribute):
            head: cst.BaseExpression = func.value
            while isinstance(head, cst.Attribute):
                head = head.value
            return self._is_module(head)
        return self._is_module(func)

    def _file_key(self, path: cst.BaseExpression) -> str:
        # `Path(p)` and `p` name the same file.
        if (
            isinstance(path, cst.Call)
            and len(path.args) == 1
            and _EMPTY.code_for_node(path.func).split(".")[-1] in ("Path", "PurePath")
        ):
            path = path.args[0].value
        return f"the file `{_EMPTY.code_for_node(path)}`"

    def _opened(self, call: cst.BaseExpression) -> _File | None:
        """`open(path, mode)` or `path.open(mode)`: which file, read or written."""
        if not isinstance(call, cst.Call) or any(a.star for a in call.args):
            return None
        func = call.func
        if (
            isinstance(func, cst.Name) and func.value == "open" and call.args
        ) or (  # `aiofiles.open(path, mode)`, `io.open(...)`: a module's open
            isinstance(func, cst.Attribute)
            and func.attr.value == "open"
            and self._is_module(func.value)
            and call.args
        ):
            path, modes = call.args[0].value, call.args[1:]
        elif isinstance(func, cst.Attribute) and func.attr.value == "open":
            path, modes = func.value, list(call.args)  # `Path(...).open(mode)`
        else:
            return None
        mode_arg = next((a for a in modes if a.keyword and a.keyword.value == "mode"), None)
        if mode_arg is None and modes and modes[0].keyword is None:
            mode_arg = modes[0]
        mode: object = "r"
        if mode_arg is not None:
            value = mode_arg.value
            mode = value.evaluated_value if isinstance(value, cst.SimpleString) else None
        if not isinstance(mode, str):
            mode = "rw"  # not a literal: either
        writes = any(c in mode for c in "wax+")
        return _File(self._file_key(path), reads="r" in mode or "+" in mode, writes=writes)

    # -- the walk ----------------------------------------------------------------------------

    def emit(self, kind: Kind, key: str = "") -> None:
        self.events.append(_Event(kind, key))

    def statements(self, body: cst.BaseSuite | None) -> None:
        if body is None:
            return
        for node in _body_nodes(body):
            self.node(node)

    def node(self, node: cst.CSTNode) -> None:
        if node is self.candidate and not self.entered:
            self.entered = True
            self.emit("enter")
            self.node(node)
            self.emit("leave")
            self.entered = False
            return
        if isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda):
            return  # runs elsewhere, or later
        if isinstance(node, cst.Await | cst.Yield):
            self._generic(node)
            self.emit("await")  # a yield in an async generator suspends too
        elif isinstance(node, cst.Assign):
            self.node(node.value)
            for target in node.targets:
                self.target(target.target, node.value)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.node(node.value)
                self.target(node.target, node.value)
        elif isinstance(node, cst.AugAssign):
            self.expression(node.target)
            self.node(node.value)
            self.target(node.target, None)
        elif isinstance(node, cst.Del):
            self.target(node.target, None)
        elif isinstance(node, cst.With):
            self._with(node)
        elif isinstance(node, cst.For):
            self.node(node.iter)
            self._loop(node, node.asynchronous is not None, node.target)
            self.statements(node.orelse.body if node.orelse else None)
        elif isinstance(node, cst.While):
            self._loop(node, False, None, test=node.test)
            self.statements(node.orelse.body if node.orelse else None)
        elif isinstance(node, cst.Call):
            self._call(node)
        elif isinstance(node, cst.Name | cst.Attribute | cst.Subscript):
            self.expression(node)
        else:
            self._generic(node)

    def _generic(self, node: cst.CSTNode) -> None:
        for child in node.children:
            self.node(child)

    def _loop(
        self,
        node: cst.For | cst.While,
        asynchronous: bool,
        target: cst.BaseAssignTargetExpression | None,
        test: cst.BaseExpression | None = None,
    ) -> None:
        # Around the new await the body runs again: its next iteration follows this one.
        rounds = 2 if _contains(node.body, self.candidate) else 1
        for _ in range(rounds):
            if test is not None:
                self.node(test)
            if asynchronous:
                self.emit("await")
            if target is not None:
                self.target(target, None)
            self.statements(node.body)

    def _with(self, node: cst.With) -> None:
        for item in node.items:
            self.node(item.item)
            if node.asynchronous is not None:
                self.emit("await")
            asname = item.asname.name if item.asname else None
            if asname is not None:
                self.target(asname, item.item)
        self.statements(node.body)
        if node.asynchronous is not None:
            self.emit("await")

    def expression(self, node: cst.BaseExpression) -> None:
        """A read of an access path."""
        self._indices(node)
        if isinstance(node, cst.Name) and node.value in self.files:
            opened = self.files[node.value]
            if opened.reads:
                self.emit("read", opened.key)
            if opened.writes:
                self.emit("write", opened.key)
            return
        key = self.shared(node)
        if key is not None:
            self.emit("read", key)
            return
        base = node
        while isinstance(base, cst.Attribute | cst.Subscript):
            base = base.value
        if base is not node:
            self.node(base)  # `f(x).attr`: the call is read like any other

    def _indices(self, node: cst.BaseExpression) -> None:
        """The expressions in an access path's subscripts are read before it."""
        for part in _chain(node):
            if isinstance(part, cst.Subscript):
                for index in part.slice:
                    self.node(index)

    def _call(self, node: cst.Call) -> None:
        func = node.func
        opened = self._opened(node)
        if isinstance(func, cst.Attribute):
            self.expression(func.value)
        elif not isinstance(func, cst.Name):
            self.node(func)
        for arg in node.args:
            self.node(arg.value)
        if opened is not None:
            if opened.reads:
                self.emit("read", opened.key)
            if opened.writes and not opened.reads:
                self.emit("write", opened.key)  # "w" truncates the file when it opens
            return
        if self._file_function(func) and node.args:
            # The files it names: read, or (every one, to be safe: a copy's source too) written.
            kind: Kind = "read" if _last_name(func) in _FS_READS else "write"
            for arg in node.args:
                if arg.keyword is None and not arg.star:
                    self.emit(kind, self._file_key(arg.value))
            return
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in self.files:
            return  # the file's use was counted by its name
        if method in _PATH_READS:
            self.emit("read", self._file_key(receiver))
        elif method in _PATH_WRITES:
            self.emit("write", self._file_key(receiver))
        elif method in _MUTATORS or self._own_instance(receiver):
            key = self.shared(receiver)
            if key is not None:
                self.emit("write", key)

    def _own_instance(self, receiver: cst.BaseExpression) -> bool:
        """A module global made by a class of this module (`counter = Counter()`): any
        method of it may change it (`counter.bump()`), as the module's own code shows."""
        if not isinstance(receiver, cst.Name) or self.scope is None:
            return False
        if self._instances is None:
            self._instances = set() if self.module is None else _own_instances(self.module)
        return receiver.value in self._instances and self._is_global(receiver.value)

    def target(self, node: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        """An assignment to `node` (of `value` when it is a plain `name = value`)."""
        if isinstance(node, cst.Tuple | cst.List):
            for element in node.elements:
                self.target(element.value, None)
            return
        if isinstance(node, cst.StarredElement):
            self.target(node.value, None)
            return
        if isinstance(node, cst.Name):
            name = node.value
            self.aliases.pop(name, None)
            self.files.pop(name, None)
            if self._is_global(name) and _declared_global(self.function, name):
                self.emit("write", f"the module global `{name}`")
                return
            opened = self._opened(value) if value is not None else None
            if opened is not None:
                self.files[name] = opened
            elif isinstance(value, cst.Name | cst.Attribute | cst.Subscript):
                key = self.shared(value)
                if key is not None:
                    self.aliases[name] = key  # the same object: a container it reaches
            return
        self._indices(node)
        key = self.shared(node)
        if key is not None:
            self.emit("write", key)


def _own_instances(module: cst.Module) -> set[str]:
    """The names `x` of `x = C(...)` statements at module level, C a class of the module."""
    classes = {stmt.name.value for stmt in module.body if isinstance(stmt, cst.ClassDef)}
    found: set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            value = small.value if isinstance(small, cst.Assign | cst.AnnAssign) else None
            if not (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Name)
                and value.func.value in classes
            ):
                continue
            targets = (
                [t.target for t in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]
                if isinstance(small, cst.AnnAssign)
                else []
            )
            found.update(t.value for t in targets if isinstance(t, cst.Name))
    return found


def _application_state(name: str, chain: list[cst.BaseExpression]) -> str | None:
    """`request.app.state.count`, `websocket.app.extra`: the application a request or a
    connection belongs to is shared by every concurrent request."""
    attributes: list[str] = []
    for link in reversed(chain):  # from the name outwards
        if not isinstance(link, cst.Attribute):
            break
        attributes.append(link.attr.value)
    if attributes[:1] != ["app"] or len(attributes) < 2:
        return None
    depth = 3 if attributes[1] == "state" and len(attributes) >= 3 else 2
    return f"`{'.'.join([name, *attributes[:depth]])}`"


def _last_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def _chain(node: cst.BaseExpression) -> Iterator[cst.Attribute | cst.Subscript]:
    while isinstance(node, cst.Attribute | cst.Subscript):
        yield node
        node = node.value


def _body_nodes(body: cst.BaseSuite) -> list[cst.CSTNode]:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    return list(body.body)  # a simple one-line block


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        stack.extend(node.children)
    return False


def _declared_global(function: cst.FunctionDef, name: str) -> bool:
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Global) and any(n.name.value == name for n in node.names):
            return True
        if not isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda):
            stack.extend(node.children)
    return False


def split_section(
    function: cst.FunctionDef,
    scope: Scope | None,
    *nodes: cst.CSTNode,
    module: cst.Module | None = None,
) -> str | None:
    """Why new awaits at `nodes` (nodes of `function`, in the original tree) must not be
    added: the reason naming shared state read before one of them and written after it,
    with no await in between in the original. None when there is none. `module`: the
    file's module (its own classes' instances are shared state their methods change).

    Accesses inside a node count on both sides of its await: an offloaded `json.load(f)`
    reads the file in a thread while other tasks run, and an `async with` awaits at both
    ends of its body.
    """
    while isinstance(scope, ComprehensionScope):
        scope = scope.parent
    for node in nodes:
        flat = _Flattener(function, node, scope, module=module)
        flat.statements(function.body)
        events = flat.events
        for start, enter in enumerate(events):
            if enter.kind != "enter":
                continue
            end = next(i for i in range(start, len(events)) if events[i].kind == "leave")
            what = _split(events, start, end)
            if what is not None:
                return REASON.format(what=what)
    return None


def shared_write(
    function: cst.FunctionDef,
    scope: Scope | None,
    *,
    own_instance: bool = False,
    module: cst.Module | None = None,
) -> str | None:
    """The first shared state (as `split_section` means it) that the body of `function`
    writes; `scope` is its body's. Moved off the loop into a worker thread, the whole body
    runs beside other threads and tasks: no write of it is atomic any more.
    `own_instance`: `self` is made for this one call (a class-based view's), not shared."""
    while isinstance(scope, ComprehensionScope):
        scope = scope.parent
    flat = _Flattener(function, function, scope, module=module)  # (met nowhere in its body)
    if own_instance:
        flat.owner = None
    flat.statements(function.body)
    return next((event.key for event in flat.events if event.kind == "write"), None)


def _split(events: list[_Event], start: int, end: int) -> str | None:
    """Shared state read at r and written at w, r < w, with the await (start..end) between
    them or at one end, and no original await between them."""
    first_read: dict[str, int] = {}  # key -> its first read with no await since
    for index, event in enumerate(events):
        if event.kind == "await":
            first_read.clear()
        elif event.kind == "read":
            first_read.setdefault(event.key, index)
        elif event.kind == "write" and event.key in first_read:
            read = first_read[event.key]
            if read < end and index > start and not (start < read and index < end):
                return event.key
    return None
