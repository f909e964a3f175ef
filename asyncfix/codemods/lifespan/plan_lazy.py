"""AF302 for a client created at import time in a module without the app (a `clients.py`,
a bot, a worker): the plan of its lazy accessor.

`SESSION = aiohttp.ClientSession()` becomes `get_session()`, which creates the client on
first use, inside the running loop (aiohttp refuses to create one without), and
`close_session()`, which the one FastAPI app of the project awaits in its lifespan. Every
read of the name across the project, through `from x import NAME [as alias]`, re-exports
and `x.NAME`, becomes a call of the accessor: all of them, or none. The accessor is a
plain function, so a read gets no new suspension point."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from asyncfix.codemods.shared.app_events import Facts
from asyncfix.config import Config
from asyncfix.index import (
    AMBIGUOUS,
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    dotted_name,
    identifier_bytes,
)
from asyncfix.suppressions import suppressions_for


def accessor_names(var: str) -> tuple[str, str, str]:
    """(the private holder, the getter, the closer) of the module-level client `var`."""
    stem = var.lstrip("_").lower() or "client"
    holder = f"_{var}" if not var.startswith("_") else f"{var}_instance"
    return holder, f"get_{stem}", f"close_{stem}"


def eager_names(tree: ast.Module) -> set[int]:
    """id() of every Name read when the module is imported: module and class bodies,
    decorators, defaults and annotations; not function or lambda bodies."""
    found: set[int] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            eager: list[ast.AST | None] = [
                *node.decorator_list,
                *node.args.defaults,
                *node.args.kw_defaults,
                node.returns,
            ]
            eager += [a.annotation for a in _params(node.args)]
            for part in eager:
                if part is not None:
                    visit(part)
        elif isinstance(node, ast.Lambda):
            for part in [*node.args.defaults, *node.args.kw_defaults]:
                if part is not None:
                    visit(part)
        else:
            if isinstance(node, ast.Name):
                found.add(id(node))
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(tree)
    return found


def _params(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _bound(tree: ast.Module) -> Iterator[str]:
    """Every name the module binds other than by a top-level import, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            yield node.id
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Global | ast.Nonlocal):
            yield from node.names
        elif isinstance(node, ast.alias) and node not in _top_aliases(tree):
            yield (node.asname or node.name).split(".")[0]
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            yield node.name


def _top_aliases(tree: ast.Module) -> list[ast.alias]:
    return [
        alias
        for stmt in tree.body
        if isinstance(stmt, ast.Import | ast.ImportFrom)
        for alias in stmt.names
    ]


def spelled_words(tree: ast.Module) -> set[str]:
    """Every identifier the module spells: a new name must be none of them."""
    words = set(_bound(tree))
    words.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    words.update(a.asname or a.name.split(".")[0] for a in _top_aliases(tree))
    return words


@dataclass
class _Use:
    """How one module reads the client."""

    info: ModuleInfo
    locals: list[str] = field(default_factory=list)  # `from x import NAME [as local]`
    dotted: list[str] = field(default_factory=list)  # `x.NAME` as spelled
    lines: list[int] = field(default_factory=list)  # of those imports


def _uses_in(user: ModuleInfo, qualname: str, getter: str) -> tuple[_Use | None, str]:
    """How `user` reads `qualname` (a module-level name of another module), or why its
    reads cannot all become calls of `getter`."""
    why = f"{user.path} uses it"
    use = _Use(user)
    for stmt in ast.walk(user.tree):
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            source = (stmt.module or "").rpartition(".")[2]
            if source and source == qualname.rpartition(".")[0].rpartition(".")[2]:
                return None, f"{user.path} imports its module with *"
        if not isinstance(stmt, ast.ImportFrom):
            continue
        for alias in stmt.names:
            local = alias.asname or alias.name
            if user.imports.get(local) != qualname:
                continue
            if stmt not in user.tree.body:
                return None, f"{why} through an import inside a block (line {stmt.lineno})"
            use.locals.append(local)
            use.lines.append(stmt.lineno)
    eager = eager_names(user.tree)
    bound = set(_bound(user.tree))
    for local in use.locals:
        if local in bound or local in user.toplevel:
            return None, f"{why} under a name it also binds ({local})"
        for node in ast.walk(user.tree):
            if isinstance(node, ast.Name) and node.id == local and id(node) in eager:
                return None, f"{why} at import time (line {node.lineno})"
    for node in ast.walk(user.tree):
        if not isinstance(node, ast.Attribute) or user.resolve(node) != qualname:
            continue
        spelled = dotted_name(node)
        assert spelled is not None
        if not isinstance(node.ctx, ast.Load):
            return None, f"{why}: it assigns or deletes {spelled} (line {node.lineno})"
        head = spelled.partition(".")[0]
        if head in bound or any(
            isinstance(n, ast.Name) and n.id == head and id(n) in eager for n in ast.walk(node)
        ):
            return None, f"{why} as {spelled} at import time or under a rebound name"
        if spelled not in use.dotted:
            use.dotted.append(spelled)
    if getter in spelled_words(user.tree) and getter not in use.locals:
        return None, f"the name {getter} is taken in {user.path}"
    return use, ""


def _strings_name(info: ModuleInfo, var: str) -> int | None:
    """The line of a string that may name `var`: a dotted patch target (`"x.NAME"`), or
    `"NAME"` in a call (getattr, patch.object) or in `__all__`."""
    named: list[ast.AST] = []
    for node in ast.walk(info.tree):
        if isinstance(node, ast.Call):
            named += node.args
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                named += [e for v in (node.value,) if v is not None for e in ast.walk(v)]
    exact = {id(n) for n in named}
    for node in ast.walk(info.tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if node.value.endswith("." + var) or (node.value == var and id(node) in exact):
            return node.lineno
    return None


def relative_import(from_module: ModuleInfo, target: str) -> tuple[str, int]:
    """(module, level) to import `target` from `from_module`, relative inside its package."""
    package = (
        from_module.name
        if from_module.file.path.name == "__init__.py"
        else from_module.name.rpartition(".")[0]
    )
    if package and target.startswith(package + "."):
        return target[len(package) + 1 :], 1
    return target, 0


def import_spelling(importer: ModuleInfo, target: str) -> tuple[str, int]:
    """(module, level) to import `target` from `importer`: relative inside its package,
    unless `importer` spells its project's imports absolutely (and none relatively)."""
    module, level = relative_import(importer, target)
    top = target.partition(".")[0] + "."
    if (
        level
        and not any(isinstance(s, ast.ImportFrom) and s.level for s in importer.tree.body)
        and any(name.startswith(top) for name in importer.imports.values())
    ):
        return target, 0
    return module, level


def plan_lazy(
    info: ModuleInfo,
    var: str,
    facts: Facts,
    entries: dict[str, dict[str, Any]],
    index: ProjectIndex,
    config: Config,
    new_entry: Any,
) -> str | None:
    """Plan the accessor of `info.var` (a module without a FastAPI app) into `entries`;
    the reason when it is not made. `new_entry(info)` makes a module's empty entry."""
    holder, getter, closer = accessor_names(var)
    tree = info.tree
    assigned = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id == var and not isinstance(n.ctx, ast.Load)
    ]
    if len(assigned) != 1 or any(
        isinstance(n, ast.Global | ast.Nonlocal) and var in n.names for n in ast.walk(tree)
    ):
        return f"`{var}` is assigned more than once"
    taken = spelled_words(tree) & {holder, getter, closer}
    if taken:
        return f"the name {sorted(taken)[0]} is taken in its module"
    eager = eager_names(tree)
    early = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Name)
            and n.id == var
            and isinstance(n.ctx, ast.Load)
            and id(n) in eager
        ),
        None,
    )
    if early is not None:
        return f"used at import time (line {early.lineno}), before any event loop runs"
    # Every module reading it, through re-exports too: a re-exported name is read under
    # the re-exporting module's qualified name.
    uses: dict[str, _Use] = {}
    todo = [f"{info.name}.{var}"]
    seen: set[str] = set()
    while todo:
        qualname = todo.pop()
        if qualname in seen:
            continue
        seen.add(qualname)
        name = qualname.rpartition(".")[2]
        for user in index.modules(name.encode()):
            if user.path == info.path:
                continue
            ambiguous = [
                local
                for local, target in user.imports.items()
                if target.startswith(AMBIGUOUS)
                and user.path != info.path
                and info.path in user.ambiguous.get(local, ())
            ]
            if ambiguous:
                return f"{user.path} imports `{ambiguous[0]}`, which may be several modules"
            if qualname not in user.imports.values() and not any(
                isinstance(n, ast.Attribute) and user.resolve(n) == qualname
                for n in ast.walk(user.tree)
            ):
                continue
            use, why = _uses_in(user, qualname, getter)
            if use is None:
                return why
            if user.path in uses:
                known = uses[user.path]
                known.locals += [n for n in use.locals if n not in known.locals]
                known.dotted += [d for d in use.dotted if d not in known.dotted]
                known.lines += use.lines
            else:
                uses[user.path] = use
            todo += [f"{user.name}.{local}" for local in use.locals]
    if not uses and not any(
        isinstance(n, ast.Name) and n.id == var and isinstance(n.ctx, ast.Load)
        for n in ast.walk(tree)
    ):
        # An accessor nobody calls would be a large hunk for nothing; the name may be API.
        return "nothing in the project reads it; delete it, or create it where it is used"
    for path in [info.path, *uses]:
        module = info if path == info.path else uses[path].info
        line = _strings_name(module, var)
        if line is not None:
            return f"{path}:{line}: a string names it (a patch target, __all__?)"
        if index.outside(path):
            return f"{path} would change too and is not among the files given"
        if config.too_large(index.data(module.file) or b""):
            return f"{path} is over max-file-size"
        suppressed = suppressions_for(
            (index.data(module.file) or b"").decode("utf-8", "replace"), path, config
        )
        lines = uses[path].lines if path in uses else [info.assignments[var][1]]
        if any(_silenced(suppressed.get(n, frozenset())) for n in lines):
            return f"{path}: it is suppressed there with `# asyncfix: ignore`"
    note = _closer_plan(info, closer, facts, entries, new_entry)
    entries[info.path].setdefault("lazy", {})[var] = [holder, getter, closer, note]
    for path, use in uses.items():
        if path not in entries:
            entries[path] = new_entry(use.info)
        entries[path].setdefault("lazy_uses", []).append(
            {"locals": use.locals, "dotted": use.dotted, "getter": getter, "var": var}
        )
    return None


def _silenced(selectors: frozenset[str] | None) -> bool:
    return selectors is None or any("AF302".startswith(s) or s == "lifespan" for s in selectors)


def _closer_plan(
    info: ModuleInfo,
    closer: str,
    facts: Facts,
    entries: dict[str, dict[str, Any]],
    new_entry: Any,
) -> str | None:
    """Where the client is closed: the lifespan of the project's one FastAPI app (planned
    into its entry; None), or what the finding says instead."""
    apps = [o for o in facts.owners.values() if o.kind == "app"]
    if not apps:
        return (
            f"no FastAPI app in the project closes it: await {closer}() where your bot or "
            "worker shuts down"
        )
    if len(apps) > 1:
        return f"several FastAPI apps; await {closer}() in the lifespan of each that uses it"
    app = apps[0]
    entry = entries[app.info.path]
    blocked = entry["apps"].get(app.var, {}).get("blocked")
    if blocked:
        return f"the app's lifespan cannot take it ({blocked}): await {closer}() at its shutdown"
    if any(t == app.info.name or t.startswith(app.info.name + ".") for t in info.imports.values()):
        # The app's module importing it back could meet it half-initialised.
        return f"its module imports the app's: await {closer}() in the app's lifespan by hand"
    closing = [c[1] for c in entry.get("lazy_close", [])]
    if closer in spelled_words(app.info.tree) or closer in closing:
        return f"the name {closer} is taken in {app.info.path}: await {closer}() at shutdown"
    target, level = import_spelling(app.info, info.name)
    entry.setdefault("lazy_close", []).append([target, closer, level, app.var])
    return None


# The last part of a decorator that registers a function run per message or event:
# aiogram (`@router.message()`, `@dp.message_handler()`), python-telegram-bot's and
# pyrogram's `on_*`, discord.py (`@bot.command()`, `@bot.event`, `@bot.listen()`),
# telethon (`@client.on(...)`).
MESSAGE_HANDLERS = frozenset(
    {
        "message",
        "message_handler",
        "edited_message",
        "channel_post",
        "callback_query",
        "callback_query_handler",
        "inline_query",
        "inline_handler",
        "chat_member",
        "my_chat_member",
        "command",
        "event",
        "listen",
        "on",
        "on_message",
        "on_callback_query",
        "on_inline_query",
    }
)


def _decorated_function(
    index: ProjectIndex, decorated: set[str], qualname: str
) -> FunctionInfo | None:
    """`qualname` as the last of the decorated modules (display paths) defining it has it,
    else as any module of the project does (see ProjectIndex.function)."""
    found: FunctionInfo | None = None
    name = qualname.rpartition(".")[2].encode()
    for file in index.defining(qualname):
        if file.display not in decorated:
            continue
        # A def spells its name: an ASCII source without it defines no such function, and
        # is not parsed for it (another source may spell it as NFKC reads it).
        data = index.data(file)
        if data is not None and name not in data and data.isascii():
            continue
        info = index.module(file)
        if info is not None and qualname in info.functions:
            found = info.functions[qualname]
    if found is None:
        found = index.function(qualname, qualname.rpartition(".")[2].encode())
    return found


def _attribute_words(words: frozenset[str]) -> re.Pattern[bytes]:
    """Bytes that may spell `.word` for one of `words`, however laid out: a decorator
    `@x.word` cannot be written without it."""
    spelled = b"|".join(re.escape(word.encode()) for word in sorted(words))
    return re.compile(rb"\.(?:[\s\\()]|#[^\r\n]*[\r\n])*(?:" + spelled + rb")\b")


def per_request(index: ProjectIndex, routes: frozenset[str]) -> dict[str, str]:
    """The project's functions that run per request or per message, qualified name -> the
    handler they run under: path operations (decorated with one of `routes`), their
    `Depends(...)` dependencies, message handlers, and every project function these call."""
    entries: dict[str, str] = {}
    wanted = routes | MESSAGE_HANDLERS
    may_register = _attribute_words(wanted)
    decorated = index.holding((b"@",))
    for file in decorated:
        # A module not indexed yet is parsed only if its bytes may hold such a decorator.
        if not index.indexed(file) and not may_register.search(
            identifier_bytes(index.data(file) or b"")
        ):
            continue
        info = index.module(file)
        if info is None:
            continue
        # (the index's facts of its decorated defs, in the order a walk of its tree meets them)
        for found in info.decorated:
            if wanted.isdisjoint(found.words):
                continue
            entries[found.qualname] = found.name
            for target in found.depends:
                entries.setdefault(target, found.name)
    # A function of a decorated module, the last such module that defines it wins: only a
    # module whose name starts its qualified name can (others are not parsed for it).
    decorated_paths = {file.display for file in decorated}
    functions: dict[str, FunctionInfo | None] = {}
    todo = list(entries)
    while todo:
        qualname = todo.pop()
        if qualname not in functions:
            functions[qualname] = _decorated_function(index, decorated_paths, qualname)
        function = functions[qualname]
        if function is None:
            continue
        for callee in function.calls:
            if callee not in entries:
                entries[callee] = entries[qualname]
                todo.append(callee)
    return entries
