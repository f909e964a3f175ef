"""The project's apps, routers and event registrations, from the project index (stdlib
`ast`): what the lifespan plan decides on, and which app modules hold on_event handlers
that other families must not cut off (`foreign_handlers`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from asyncfix.codemods.shared.lifespan_sites import (
    APPS,
    CLIENTS,
    ENGINES,
    EVENTS,
    IMPORT_TIME_CLIENTS,
    ROUTERS,
)
from asyncfix.index import ModuleInfo, ProjectIndex, dotted_name, identifier_bytes, walk

_EVENTS = ("startup", "shutdown")
# Bytes a module must hold to matter to the plan: the names its sites are spelt with.
PLAN_TOKENS = tuple(
    name.encode()
    for name in (
        *EVENTS.names,
        *sorted(APPS.last_names | ROUTERS.last_names),
        EVENTS.include,
        *sorted(CLIENTS.last_names | IMPORT_TIME_CLIENTS.last_names | ENGINES.last_names),
    )
)


@dataclass
class Registration:
    owner: str | None  # qualified name of the app or router
    event: str | None  # "startup" / "shutdown"; None when not a literal
    handler: str | None  # qualified name of the handler function, None when unknown
    kind: str  # "dec" | "add" | "kw"
    path: str
    line: int
    toplevel: bool
    problem: str | None = None
    # How the transformer recognizes the site, whatever earlier codemods did to the lines:
    # (kind, owner as written, event literal, handler as written, occurrence).
    key: tuple[Any, ...] = ()


@dataclass
class Include:
    owner: str | None
    target: str | None
    path: str
    line: int
    toplevel: bool


@dataclass
class Owner:
    qualname: str
    kind: str  # "app" | "router"
    var: str
    info: ModuleInfo
    line: int


@dataclass
class Facts:
    owners: dict[str, Owner] = field(default_factory=dict)
    events: dict[str, list[Registration | Include]] = field(default_factory=dict)


def _const_event(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and node.value in _EVENTS:
        return str(node.value)
    return None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


# The attribute names scan_module's walk looks for.
_WALK_TOKENS = tuple(name.encode() for name in (EVENTS.decorator, EVENTS.method, EVENTS.include))
# (A keyword needs no walk: only an app's or a router's constructor takes it.)
_KEYWORD_TOKENS = tuple(keyword.encode() for keyword in EVENTS.keywords)


def _owner_kind(callee: str | None) -> str | None:
    """The owner a call of `callee` (resolved) makes: "app", "router" or None."""
    for owners in (APPS, ROUTERS):
        if callee is not None and callee in owners:
            return owners[callee]
    return None


def scan_module(info: ModuleInfo, facts: Facts, data: bytes) -> None:
    """Apps, routers, event registrations and includes of one module (`data` its bytes),
    in source order."""
    events: list[Registration | Include] = []
    toplevel_nodes: set[int] = set()

    def owner_of(node: ast.expr) -> str | None:
        # `app.router.add_event_handler(...)` registers on the app's router: the app's.
        if isinstance(node, ast.Attribute) and node.attr == "router":
            base = info.resolve(node.value)
            if base is not None and base in facts.owners:
                return base
        return info.resolve(node)

    # Most modules hold none of them: skip the walk. (Identifiers are read in NFKC.)
    text = identifier_bytes(data)
    scan = any(token in text for token in _WALK_TOKENS)
    if not scan and not any(token in text for token in _KEYWORD_TOKENS):
        # Then the apps and routers are all there is, and the index knows them: the
        # statements of the body loop below, without their tree.
        for var, callee, line in info.toplevel_calls:
            kind = _owner_kind(callee)
            if kind is not None:
                facts.owners[f"{info.name}.{var}"] = Owner(
                    f"{info.name}.{var}", kind, var, info, line
                )
        facts.events[info.path] = []
        return
    creates = any(_owner_kind(callee) for _, callee, _ in info.toplevel_calls)
    for stmt in info.tree.body if scan or creates else ():
        toplevel_nodes.add(id(stmt))
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            kind = _owner_kind(info.resolve(stmt.value.func))
            if kind and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                qualname = f"{info.name}.{stmt.targets[0].id}"
                facts.owners[qualname] = Owner(
                    qualname, kind, stmt.targets[0].id, info, stmt.lineno
                )
                for kw in stmt.value.keywords:
                    if kw.arg is None or kw.arg not in EVENTS.keywords:
                        continue
                    event = EVENTS.keywords[kw.arg]
                    items = kw.value.elts if isinstance(kw.value, ast.List | ast.Tuple) else None
                    if items is None or any(isinstance(i, ast.Starred) for i in items):
                        events.append(
                            Registration(
                                qualname,
                                event,
                                None,
                                "kw",
                                info.path,
                                kw.value.lineno,
                                True,
                                f"{kw.arg}= is not a literal list of functions",
                                ("kw", stmt.targets[0].id, event, None),
                            )
                        )
                        continue
                    for item in items:
                        events.append(
                            Registration(
                                qualname,
                                event,
                                info.resolve(item),
                                "kw",
                                info.path,
                                item.lineno,
                                True,
                                None,
                                ("kw", stmt.targets[0].id, event, dotted_name(item)),
                            )
                        )
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in stmt.decorator_list:
                toplevel_nodes.add(id(decorator))
        if isinstance(stmt, ast.Expr):
            toplevel_nodes.add(id(stmt.value))
    for node in walk(info.tree) if scan else ():
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if EVENTS.ast_decorator(decorator) is None:
                    continue
                assert isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                problem = None
                if len(node.decorator_list) != 1:
                    problem = "the handler has other decorators"
                event_node = EVENTS.ast_arg(decorator, EVENTS.event)
                events.append(
                    Registration(
                        owner_of(decorator.func.value),
                        _const_event(event_node),
                        f"{info.name}.{node.name}",
                        "dec",
                        info.path,
                        decorator.lineno,
                        id(decorator) in toplevel_nodes,
                        problem,
                        ("dec", dotted_name(decorator.func.value), _literal(event_node), node.name),
                    )
                )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == EVENTS.method:
                handler = EVENTS.ast_arg(node, EVENTS.handler)
                event_node = EVENTS.ast_arg(node, EVENTS.event)
                events.append(
                    Registration(
                        owner_of(node.func.value),
                        _const_event(event_node),
                        info.resolve(handler) if handler is not None else None,
                        "add",
                        info.path,
                        node.lineno,
                        id(node) in toplevel_nodes,
                        None,
                        (
                            "add",
                            dotted_name(node.func.value),
                            _literal(event_node),
                            dotted_name(handler),
                        ),
                    )
                )
            elif node.func.attr == EVENTS.include:
                target = EVENTS.ast_arg(node, EVENTS.router)
                events.append(
                    Include(
                        info.resolve(node.func.value),
                        info.resolve(target) if target is not None else None,
                        info.path,
                        node.lineno,
                        id(node) in toplevel_nodes,
                    )
                )
    events.sort(key=lambda e: e.line)
    seen: dict[tuple[Any, ...], int] = {}
    for found in events:
        if isinstance(found, Registration):
            count = seen[found.key] = seen.get(found.key, -1) + 1
            found.key = (*found.key, count)
    facts.events[info.path] = events


@dataclass
class AppPlan:
    blocked: str | None = None
    startup: list[tuple[str, str]] = field(default_factory=list)  # (handler qualname, where)
    shutdown: list[tuple[str, str]] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)


def owner_key(owner: str | None, facts: Facts) -> str | None:
    if owner is not None and owner not in facts.owners and owner.endswith(".router"):
        base = owner.removesuffix(".router")
        if base in facts.owners and facts.owners[base].kind == "app":
            return base
    return owner


def handler_problem(reg: Registration, index: ProjectIndex, info: ModuleInfo | None) -> str | None:
    """Why the handler of `reg` (registered in `info`) cannot be called from a lifespan."""
    if reg.problem:
        return reg.problem
    if not reg.toplevel:
        return "registered inside a function or a block; asyncfix cannot tell when it runs"
    if reg.event is None:
        return "the event is not the literal 'startup' or 'shutdown'"
    if reg.handler is None:
        return "the handler is not a plain function name"
    candidates = info.candidates(reg.handler) if info is not None else ()
    if candidates:
        return (
            f"the handler may be in {' or '.join(candidates)} (same-named modules); "
            "asyncfix cannot tell which one runs"
        )
    function = index.function(reg.handler)
    if function is None or function.qualname != f"{function.module}.{function.name}":
        return f"the handler {reg.handler} is not a module-level function asyncfix can see"
    if any(not d.endswith(f".{EVENTS.decorator}") for d in function.decorators):
        return f"the handler {function.name} is decorated; asyncfix cannot tell whether it is async"
    return None


def expand(owner: str, facts: Facts, until: int | None, plan: AppPlan, seen: set[str]) -> None:
    """Append `owner`'s handlers to `plan` in the order FastAPI registers them: its own,
    and an included router's at the include_router() call."""
    if owner in seen:
        return
    seen.add(owner)
    info = facts.owners[owner].info
    for event in facts.events.get(info.path, []):
        if owner_key(event.owner, facts) != owner:
            continue
        late = until is not None and event.line > until
        if isinstance(event, Registration):
            plan.registrations.append(event)
            if late:
                plan.blocked = plan.blocked or (
                    f"{info.path}:{event.line}: registered on a router after it is included; "
                    "it never runs today"
                )
            elif event.event is not None:
                (plan.startup if event.event == "startup" else plan.shutdown).append(
                    (event.handler or "", event.path)
                )
            continue
        if not event.toplevel or late:
            plan.blocked = plan.blocked or (
                f"{info.path}:{event.line}: include_router() inside a function or a block"
            )
        elif event.target not in facts.owners or facts.owners[event.target].kind != "router":
            plan.blocked = plan.blocked or (
                f"{info.path}:{event.line}: includes a router asyncfix cannot follow; "
                "its on_event handlers would stop running"
            )
        else:
            target = facts.owners[event.target]
            expand(
                event.target,
                facts,
                event.line if target.info.path == info.path else until,
                plan,
                seen,
            )


def foreign_handlers(index: ProjectIndex) -> dict[str, str]:
    """App module (display path) -> where (`path:line`) an event handler of another module
    may register on one of its apps: `lifespan=` on that app would silently stop it.
    A handler whose owner no app's registrations lead to (an app imported from elsewhere,
    a router included where asyncfix does not follow) may be any app's."""
    facts = Facts()
    for info in index.modules(*PLAN_TOKENS):
        scan_module(info, facts, index.data(info.file) or b"")
    runs: dict[str, list[Registration]] = {}
    for qualname, owner in facts.owners.items():
        if owner.kind == "app":
            plan = AppPlan()
            expand(qualname, facts, None, plan, set())
            runs[qualname] = plan.registrations
    reached = {id(reg) for registrations in runs.values() for reg in registrations}
    unreached = [
        event
        for events in facts.events.values()
        for event in events
        if isinstance(event, Registration) and id(event) not in reached
    ]
    found: dict[str, str] = {}
    for qualname, registrations in runs.items():
        path = facts.owners[qualname].info.path
        elsewhere = [r for r in (*registrations, *unreached) if r.path != path]
        if elsewhere and path not in found:
            first = min(elsewhere, key=lambda r: (r.path, r.line))
            found[path] = f"{first.path}:{first.line}"
    return found
