"""The plan of the lifespan family for clients and engines: import-time clients to move
(AF302), per-call clients to share (AF304), engines to dispose of (AF305)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from typing import Any

import libcst as cst

from asyncfix.codemods.lifespan._shared import (
    CLOSING,
    OPTIONS_PROBLEM,
    SHARED,
    binding_site,
    block_problem,
    shared_cap_problem,
)
from asyncfix.codemods.lifespan.plan_lazy import (
    import_spelling,
    per_request,
    plan_lazy,
    spelled_words,
)
from asyncfix.codemods.lifespan.screen import digest
from asyncfix.codemods.shared.app_events import Facts, Include, Owner, owner_key
from asyncfix.codemods.shared.lifespan_sites import (
    CLIENTS,
    ENGINES,
    IMPORT_TIME_CLIENTS,
    PER_CALL,
    ROUTES,
)
from asyncfix.config import Config
from asyncfix.index import ModuleInfo, ProjectIndex, identifier_bytes, walk


def _references(index: ProjectIndex, qualname: str, skip: str) -> list[str]:
    """Display paths of the modules other than `skip` that use the global `qualname`."""
    name = qualname.rpartition(".")[2]
    users = []
    for info in index.modules(name.encode()):
        if info.path == skip:
            continue
        if qualname in info.imports.values() or any(
            isinstance(node, ast.Name | ast.Attribute) and info.resolve(node) == qualname
            for node in walk(info.tree)
        ):
            users.append(info.path)
    return users


def _empty_entry(info: ModuleInfo, index: ProjectIndex) -> dict[str, Any]:
    return {
        "digest": digest(index.data(info.file) or b""),
        "apps": {},
        "strip": [],
        "refuse": [],
        "imports": [],
        "clients": {},
        "client_uses": [],
        "engines": [],
        "engine_refuse": {},
        "per_call": {},
        "shared": {},
    }


_REQUEST = frozenset({"fastapi.Request", "starlette.requests.Request"})


def _route_owner(function: ast.FunctionDef | ast.AsyncFunctionDef, info: ModuleInfo) -> str | None:
    """The app or router a path operation is registered on (`@router.get(...)`)."""
    owner = ROUTES.ast_owner(function)
    return None if owner is None else info.resolve(owner)


def _served_by(app: str, facts: Facts) -> set[str]:
    """The app and every router it includes, transitively."""
    seen = {app}
    todo = [app]
    while todo:
        owner = todo.pop()
        info = facts.owners[owner].info
        for event in facts.events.get(info.path, []):
            if (
                isinstance(event, Include)
                and owner_key(event.owner, facts) == owner
                and event.target in facts.owners
                and event.target not in seen
            ):
                seen.add(event.target)
                todo.append(event.target)
    return seen


def _client_uses(
    user: ModuleInfo, qualname: str, served: set[str]
) -> tuple[dict[str, Any] | None, str]:
    """How `user` reads the client: only through `from <module> import name`, only in
    path operations of the app: (the rewrite, "") or (None, why not)."""
    why = f"{user.path} uses it"
    locals_ = [
        (stmt, alias)
        for stmt in user.tree.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
        if user.imports.get(alias.asname or alias.name) == qualname
    ]
    if len(locals_) != 1:
        return None, f"{why} other than through one `from ... import`"
    local = locals_[0][1].asname or locals_[0][1].name
    if local in user.toplevel or "Request" in user.toplevel:
        return None, f"{why} under a name it also assigns"
    if user.imports.get("Request", "fastapi.Request") not in _REQUEST:
        return None, f"{why}, and the name Request means something else there"
    functions: dict[str, str | None] = {}
    for stmt in user.tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            uses = [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == local]
            if not uses:
                continue
            if _route_owner(stmt, user) not in served:
                return None, f"{why} outside a path operation of the app ({stmt.name})"
            eager = [*stmt.decorator_list, *stmt.args.defaults, *stmt.args.kw_defaults]
            if any(
                isinstance(n, ast.Name) and n.id == local
                for e in eager
                if e is not None
                for n in ast.walk(e)
            ):
                return None, f"{why} at import time (a default or decorator of {stmt.name})"
            params = [*stmt.args.posonlyargs, *stmt.args.args, *stmt.args.kwonlyargs]
            request = next(
                (
                    a.arg
                    for a in params
                    if a.annotation is not None and user.resolve(a.annotation) in _REQUEST
                ),
                None,
            )
            bound = {a.arg for a in params} | {
                n.id
                for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
            }
            if local in bound:
                return None, f"{why} under a name {stmt.name} rebinds"
            if request is None and "request" in bound | {
                n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
            }:
                return None, f"{why} in {stmt.name}, where the name request is taken"
            functions[stmt.name] = request
    mentions = sum(1 for n in ast.walk(user.tree) if isinstance(n, ast.Name) and n.id == local)
    inside = sum(
        1
        for stmt in user.tree.body
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name in functions
        for n in ast.walk(stmt)
        if isinstance(n, ast.Name) and n.id == local
    )
    if mentions != inside:
        return None, f"{why} at import time or outside a function"
    return {"local": local, "functions": functions}, ""


def _plan_client(
    info: ModuleInfo,
    var: str,
    facts: Facts,
    entries: dict[str, dict[str, Any]],
    index: ProjectIndex,
    config: Config,
) -> None:
    """AF302 across modules: other modules' path operations read the client as
    request.app.state.<var>; decided here, and only when the app's module moves it."""
    entry = entries[info.path]
    qualname = f"{info.name}.{var}"
    users = _references(index, qualname, info.path)
    entry["clients"][var] = None
    if not users:
        return
    apps = [o for o in facts.owners.values() if o.kind == "app" and o.info.path == info.path]
    reason = None if len(apps) == 1 else "no single FastAPI app in its module"
    served = _served_by(apps[0].qualname, facts) if len(apps) == 1 else set()
    plans: dict[str, dict[str, Any]] = {}
    # Its module and every user change together, or none does.
    outside = next((p for p in [info.path, *users] if index.outside(p)), None)
    if reason is None and outside is not None:
        reason = f"{outside} would change too and is not among the files given"
    for path in users:
        if reason:
            break
        user = next(i for i in index.modules(var.encode()) if i.path == path)
        found, why = _client_uses(user, qualname, served)
        if found is None:
            reason = why
        else:
            plans[path] = {**found, "attribute": var, "module": info.name}
    if reason is None and not _moves_client(info, var, entry, index, config):
        reason = "its own module keeps it"
    if reason is not None:
        entry["clients"][var] = f"used by other modules: {reason}; not rewritten"
        return
    for path, use in plans.items():
        if path not in entries:
            user = next(i for i in index.modules(var.encode()) if i.path == path)
            entries[path] = _empty_entry(user, index)
        entries[path].setdefault("client_uses", []).append(use)


def _moves_client(
    info: ModuleInfo, var: str, entry: dict[str, Any], index: ProjectIndex, config: Config
) -> bool:
    """Does the pipeline of this family really move `var` out of its module? (A dry run,
    so that no other module reads request.app.state.<var> that nobody creates.)"""
    module = _dry_pipeline(info, entry, index, config, ("AF302",))
    return module is not None and binding_site(module, var) is None


def _dry_pipeline(
    info: ModuleInfo,
    entry: dict[str, Any],
    index: ProjectIndex,
    config: Config,
    needs: tuple[str, ...],
) -> cst.Module | None:
    """The module as this family's codemods would leave it (None: `needs` not selected,
    or the file is over max-file-size)."""
    from asyncfix.codemods import resolve_selection

    # The codemods are built on this plan: imported when it runs them.
    from asyncfix.codemods.lifespan.import_time_client import ImportTimeClient
    from asyncfix.codemods.lifespan.on_event import OnEventToLifespan
    from asyncfix.codemods.lifespan.per_call_client import PerCallClient
    from asyncfix.codemods.runner import file_run, run_codemods

    enabled = resolve_selection(config.select, config.ignore)
    data = index.data(info.file) or b""
    if not enabled.issuperset(needs) or config.too_large(data):
        return None
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        return None
    codemods = (OnEventToLifespan, ImportTimeClient, PerCallClient)
    run = file_run(module, info.path, config, enabled, plans={c.NAME: entry for c in codemods})
    # (a dry run: the plan reads where the client ends up, not the imports)
    return run_codemods(codemods, module, run, imports=False).result


def _per_call_problem(
    function: ast.AsyncFunctionDef, node: ast.AsyncWith, name: str, info: ModuleInfo
) -> str | None:
    """AF304's checks (as PerCallClient makes them), on the ast of a router's module."""
    call = node.items[0].context_expr
    assert isinstance(call, ast.Call)
    if call.args or call.keywords:
        return OPTIONS_PROBLEM
    stores = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == name]
    inside = {id(n) for stmt in node.body for n in ast.walk(stmt)}
    params = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    closes = any(
        (
            isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id == name
            and n.attr in CLOSING
        )
        or (
            isinstance(n, ast.withitem)
            and isinstance(n.context_expr, ast.Name)
            and n.context_expr.id == name
        )
        for stmt in node.body
        for n in ast.walk(stmt)
    )
    return block_problem(
        name,
        rebound=any(a.arg == name for a in params)
        or sum(1 for n in stores if not isinstance(n.ctx, ast.Load)) != 1,
        used_after=any(id(n) not in inside for n in stores if isinstance(n.ctx, ast.Load)),
        closes=closes,
    )


def _request_param(function: ast.AsyncFunctionDef, info: ModuleInfo) -> tuple[str | None, bool]:
    """(its `Request` parameter, whether `request: Request` can be added instead)."""
    params = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    for a in params:
        if a.annotation is not None and info.resolve(a.annotation) in _REQUEST:
            return a.arg, True
    taken = {a.arg for a in params} | {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    free = (
        "request" not in taken
        and "Request" not in info.toplevel
        and info.imports.get("Request", "fastapi.Request") in _REQUEST
    )
    return None, free


# The last part of each client's qualified name: a module creating one spells it (in the
# call, or in the import the call's name resolves through).
_CLIENT_WORDS = tuple(sorted(name.encode() for name in CLIENTS.last_names))
_ASYNC_WITH = re.compile(rb"async(?<!\wasync)(?:\s|\\)+with\b")  # (`\basync...`)


def may_open_client(data: bytes) -> bool:
    """May the source hold `async with <client>(...)`, a site of `_plan_per_call`? Not
    without the client's name and an `async with`. (Python reads identifiers in NFKC:
    non-ASCII source may spell the name in other characters.)"""
    text = identifier_bytes(data)
    return any(word in text for word in _CLIENT_WORDS) and _ASYNC_WITH.search(text) is not None


def client_sites(
    function: ast.AsyncFunctionDef, info: ModuleInfo
) -> Iterator[tuple[str, ast.AsyncWith, str, str]]:
    """Each `async with <client>() as name:` of `function`: (its key "function:occurrence",
    as PerCallClient counts them, the node, the client's qualified name, name)."""
    withs = sorted(
        (n for n in ast.walk(function) if isinstance(n, ast.AsyncWith)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    occurrence = -1
    for node in withs:
        shape = PER_CALL.ast_shape(node)
        if shape is None:
            continue
        callee = info.resolve(shape[0].func)
        if callee is None or callee not in PER_CALL.clients:
            continue
        occurrence += 1
        yield f"{function.name}:{occurrence}", node, callee, shape[1]


def _plan_per_call(
    modules: Sequence[ModuleInfo],
    facts: Facts,
    entries: dict[str, dict[str, Any]],
    index: ProjectIndex,
    config: Config,
) -> None:
    """AF304 in a router's module: its path operations use request.app.state.<shared>,
    which the lifespan of the one app serving the router creates."""
    apps = [o for o in facts.owners.values() if o.kind == "app"]
    served = {a.qualname: _served_by(a.qualname, facts) for a in apps}
    by_app: dict[str, list[tuple[str, str]]] = {}  # app qualname -> (path, site key)
    for info in modules:
        if any(a.info.path == info.path for a in apps):
            continue  # the app's own module: PerCallClient handles it on its own
        data = index.data(info.file) or b""
        if not may_open_client(data):
            continue  # no `async with` of a client: no site, and no tree to parse again
        for function in info.tree.body:
            if not isinstance(function, ast.AsyncFunctionDef):
                continue
            owner = _route_owner(function, info)
            if owner is None:
                continue  # not a path operation: no site of it is planned
            for key, node, callee, target in client_sites(function, info):
                serving = [a for a in apps if owner in served[a.qualname]]
                reason = _per_call_problem(function, node, target, info)
                request, can_add = _request_param(function, info)
                if reason is None and len(serving) != 1:
                    reason = "no single FastAPI app of the project serves this path operation"
                if reason is None:
                    app = serving[0]
                    if entries[app.info.path]["apps"][app.var]["blocked"]:
                        reason = "the app's on_event handlers cannot move into a lifespan"
                    package = callee.split(".")[0]
                    if app.info.imports.get(package, package) != package or (
                        package in app.info.toplevel
                    ):
                        reason = f"the name {package} means something else in the app's module"
                if reason is None and request is None and not can_add:
                    reason = "the name request (or Request) is taken in this module"
                if reason is None:
                    reason = shared_cap_problem(config, callee.split(".")[0])
                if reason is not None:
                    entries[info.path]["per_call"][key] = reason
                    continue
                close = CLIENTS[callee]
                attribute = SHARED[close]
                entries[info.path]["per_call"][key] = [attribute, request]
                entries[app.info.path]["shared"][attribute] = [
                    package,
                    callee.rpartition(".")[2],
                    close,
                ]
                by_app.setdefault(app.qualname, []).append((info.path, key))
    # The app's module must really take the shared clients, or no router may use them.
    for qualname, sites in by_app.items():
        app = facts.owners[qualname]
        entry = entries[app.info.path]
        if _takes_shared(app.info, entry, index, config):
            continue
        entry["shared"] = {}
        for path, key in sites:
            entries[path]["per_call"][key] = "the app's lifespan cannot take a shared session"


def _takes_shared(
    info: ModuleInfo, entry: dict[str, Any], index: ProjectIndex, config: Config
) -> bool:
    module = _dry_pipeline(info, entry, index, config, ("AF304",))
    return module is not None and all(
        f".state.{attribute} = " in module.code for attribute in entry["shared"]
    )


def _toplevel_imports(info: ModuleInfo) -> set[str]:
    names: set[str] = set()
    for stmt in info.tree.body:
        if isinstance(stmt, ast.ImportFrom):
            names.update(a.asname or a.name for a in stmt.names)
        elif isinstance(stmt, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in stmt.names)
    return names


def _disposed(modules: Sequence[ModuleInfo], index: ProjectIndex) -> set[str]:
    """The qualified names of the project's `<name>.dispose` (an engine's, if the name is
    one), read once for every engine. A module with `.dispose` of an engine holds the
    engine's name as a word: resolved through the imports or not, the last part of a
    qualified name is spelled in the source (as an attribute, a name or an import)."""
    engines = {var for info in modules for var, (c, _) in info.assignments.items() if c in ENGINES}
    disposed: set[str] = set()
    if not engines:
        return disposed
    for other, found in index.naming({*engines, "dispose"}, b"dispose"):
        if "dispose" not in found or not found & engines:
            continue
        disposed.update(
            resolved
            for node in walk(other.tree)
            if isinstance(node, ast.Attribute) and node.attr == "dispose"
            for resolved in (other.resolve(node.value),)
            if resolved is not None
        )
    return disposed


def plan_resources(
    modules: Sequence[ModuleInfo],
    facts: Facts,
    entries: dict[str, dict[str, Any]],
    index: ProjectIndex,
    config: Config,
) -> None:
    """AF302: which import-time clients other modules use. AF305: which async engines are
    never disposed, and in which app's lifespan to dispose them."""
    apps = [o for o in facts.owners.values() if o.kind == "app"]
    for info in modules:
        entry = entries[info.path]
        entry["clients"] = {}
        entry["client_uses"] = []
        entry["engines"] = []
        entry["engine_refuse"] = {}
        entry["per_call"] = {}  # "function:occurrence" -> [attribute, request param] | reason
        entry["shared"] = {}  # attribute -> [package, class, close]: for the app's lifespan
        entry["lazy"] = {}  # client -> [holder, getter, closer, why nothing closes it]
        entry["lazy_uses"] = []  # {locals, dotted, getter, var}: reads that call the getter
        entry["lazy_close"] = []  # [module, closer, level, app]: awaited in the app's lifespan
    _plan_per_call(modules, facts, entries, index, config)
    disposed = _disposed(modules, index)
    for info in modules:
        for var, (callee, _) in info.assignments.items():
            qualname = f"{info.name}.{var}"
            if callee in IMPORT_TIME_CLIENTS and not any(a.info.path == info.path for a in apps):
                entries[info.path]["clients"][var] = plan_lazy(
                    info, var, facts, entries, index, config, lambda i: _empty_entry(i, index)
                )
            elif callee in IMPORT_TIME_CLIENTS:
                _plan_client(info, var, facts, entries, index, config)
            if callee not in ENGINES:
                continue
            if qualname in disposed:
                continue  # disposed somewhere already
            here = [a for a in apps if a.info.path == info.path]
            importers = [
                (a, local)
                for a in apps
                for local, target in a.info.imports.items()
                if target == qualname and local in _toplevel_imports(a.info)
            ]
            targets = [(a, var) for a in here] if here else importers
            if len(targets) != 1:
                entries[info.path]["engine_refuse"][var] = (
                    "no FastAPI app of the project imports it"
                    if not targets
                    else "several FastAPI apps use it; dispose it where it belongs by hand"
                )
                continue
            app, local = targets[0]
            entries[app.info.path]["engines"].append([local, app.var])
    _check_closers(apps, entries, index, config)
    _plan_per_call_shared(modules, entries, index, config, apps)


def _accessors(
    modules: Sequence[ModuleInfo], entries: dict[str, dict[str, Any]]
) -> dict[str, list[tuple[ModuleInfo, str, str]]]:
    """The planned lazy accessors by package: (their module, getter, why a per-call site
    cannot use it instead: "" when it can)."""
    found: dict[str, list[tuple[ModuleInfo, str, str]]] = {}
    for info in modules:
        for var, (_, getter, _, _) in entries[info.path].get("lazy", {}).items():
            callee = info.assignments[var][0]
            create = next(
                s.value
                for s in info.tree.body
                if isinstance(s, ast.Assign)
                and isinstance(s.value, ast.Call)
                and any(isinstance(t, ast.Name) and t.id == var for t in s.targets)
            )
            assert isinstance(create, ast.Call)
            options = [k.arg or "**" for k in create.keywords] + ["*"] * len(create.args)
            why = (
                f"the shared `{var}` of {info.path} is created with options "
                f"({', '.join(options)}) this call does not have; share one by hand"
                if options
                else ""
            )
            found.setdefault(callee.split(".")[0], []).append((info, getter, why))
    return found


def _plan_per_call_shared(
    modules: Sequence[ModuleInfo],
    entries: dict[str, dict[str, Any]],
    index: ProjectIndex,
    config: Config,
    apps: Sequence[Owner],
) -> None:
    """AF304 outside the app's module and its path operations: a per-call client in a
    function that runs per request or per message (called from a path operation, a
    dependency or a bot's handler). Where the project has one lazy accessor (plan_lazy)
    of that client, created without options, and the call has none either, the function
    uses it; else the site is reported."""
    from asyncfix.codemods import resolve_selection

    runs: dict[str, str] | None = None
    shared = _accessors(modules, entries)
    enabled = resolve_selection(config.select, config.ignore)
    asked = index.asked
    for info in modules:
        if any(a.info.path == info.path for a in apps):
            continue  # the app's own module: PerCallClient handles it on its own
        if asked is not None and info.path not in asked:
            continue  # (a site's answer goes into its own module's entry alone)
        if not may_open_client(index.data(info.file) or b""):
            continue
        for function in info.tree.body:
            if not isinstance(function, ast.AsyncFunctionDef) or _route_owner(function, info):
                continue  # a path operation's sites are _plan_per_call's
            sites = list(client_sites(function, info))
            if not sites:
                continue
            runs = per_request(index, ROUTES.methods) if runs is None else runs
            under = runs.get(f"{info.name}.{function.name}")
            if under is None:
                continue  # not known to run per request: a script may want its own
            for key, node, callee, target in sites:
                package = callee.split(".")[0]
                candidates = shared.get(package, [])
                reason = _per_call_problem(function, node, target, info)
                if reason is None and len(candidates) != 1:
                    reason = f"no single shared {package} client in the project to use instead"
                if reason is None:
                    owner, getter, reason = candidates[0]
                    reason = reason or shared_cap_problem(config, package) or ""
                if not reason and "AF302" not in enabled:
                    reason = "AF302, which makes the shared client, is not selected"
                if not reason and index.outside(info.path):
                    reason = f"{info.path} is not among the files given"
                if (
                    not reason
                    and owner.path != info.path
                    and getter in spelled_words(info.tree)
                    and info.imports.get(getter) != f"{owner.name}.{getter}"
                ):
                    reason = f"the name {getter} is taken in {info.path}"
                if reason:
                    entries[info.path]["per_call"][key] = (
                        f"runs per request or message (under {under}): {reason}"
                    )
                    continue
                target_module, level = (
                    import_spelling(info, owner.name) if owner.path != info.path else ("", 0)
                )
                entries[info.path]["per_call"][key] = {
                    "getter": getter,
                    "module": target_module,
                    "level": level,
                }


def _check_closers(
    apps: Sequence[Owner], entries: dict[str, dict[str, Any]], index: ProjectIndex, config: Config
) -> None:
    """The app's lifespan must really await each accessor's closer, or the finding of
    the client says it does not."""
    for app in apps:
        entry = entries[app.info.path]
        if not entry.get("lazy_close"):
            continue
        module = _dry_pipeline(app.info, entry, index, config, ("AF302",))
        code = "" if module is None else module.code
        for item in list(entry["lazy_close"]):
            closer = item[1]
            if f"await {closer}()" in code:
                continue
            entry["lazy_close"].remove(item)
            for other in entries.values():
                for planned in other.get("lazy", {}).values():
                    if planned[2] == closer and planned[3] is None:
                        planned[3] = (
                            f"the app's lifespan in {app.info.path} cannot take it: "
                            f"await {closer}() at its shutdown"
                        )
