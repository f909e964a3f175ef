"""The lifespan family's project-wide plan: on current FastAPI `on_event` is deprecated and
passing `lifespan=` silently disables every `on_event` handler of the app, so the
migration is decided for the whole project (through the project index) and made for an
app everywhere or nowhere."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext

from asyncfix.codemods.lifespan._shared import migrates
from asyncfix.codemods.lifespan.migrate import apply_on_event
from asyncfix.codemods.lifespan.plan_clients import plan_resources
from asyncfix.codemods.lifespan.plan_lazy import relative_import
from asyncfix.codemods.lifespan.screen import digest
from asyncfix.codemods.shared.app_events import (
    PLAN_TOKENS,
    AppPlan,
    Facts,
    Owner,
    Registration,
    expand,
    handler_problem,
    owner_key,
    scan_module,
)
from asyncfix.codemods.shared.pool_options import configured_options
from asyncfix.codemods.shared.test_harness import bare_test_client
from asyncfix.config import Config
from asyncfix.index import ModuleInfo, ProjectIndex
from asyncfix.suppressions import suppressions_for
from asyncfix.versions import FASTAPI_LIFESPAN, missing


def _mark_suppressed(info: ModuleInfo, facts: Facts, index: ProjectIndex, config: Config) -> None:
    # A suppressed site keeps its handler, so its app cannot take a lifespan.
    registered = [e for e in facts.events.get(info.path, []) if isinstance(e, Registration)]
    if not registered:
        return  # (most modules register nothing: no comment of theirs is read)
    text = (index.data(info.file) or b"").decode("utf-8", "replace")
    suppressions = suppressions_for(text, info.path, config)
    for event in registered:
        if event.line not in suppressions:
            continue
        selectors = suppressions[event.line]
        if selectors is None or any("AF301".startswith(s) or s == "lifespan" for s in selectors):
            event.problem = "the handler is suppressed with `# asyncfix: ignore`"


def compute_plan(index: ProjectIndex, config: Config) -> dict[str, dict[str, Any]]:
    configured_options(config)  # a configuration error stops the run before any file is touched
    modules = list(index.modules(*PLAN_TOKENS))
    facts = Facts()
    for info in modules:
        scan_module(info, facts, index.data(info.file) or b"")
        _mark_suppressed(info, facts, index, config)
    apps = {q: o for q, o in facts.owners.items() if o.kind == "app"}
    by_path = {info.path: info for info in modules}
    plans: dict[str, AppPlan] = {}
    for qualname, app in apps.items():
        # An older FastAPI ignores lifespan= (its own service's declarations first).
        plan = AppPlan(blocked=missing(config, FASTAPI_LIFESPAN, app.info.file.path))
        expand(qualname, facts, None, plan, set())
        for reg in plan.registrations:
            problem = handler_problem(reg, index, by_path.get(reg.path))
            if problem and not plan.blocked:
                plan.blocked = f"{reg.path}:{reg.line}: {problem}"
        # The migration changes the app's module and every module registering a handler.
        for path in [app.info.path, *(reg.path for reg in plan.registrations)]:
            if index.outside(path) and not plan.blocked:
                plan.blocked = f"{path} would change too and is not among the files given"
        plans[qualname] = plan
    # Each registration belongs to the apps that run it; a router shared by apps ties them.
    owners_of: dict[int, list[str]] = {}
    for qualname, plan in plans.items():
        for reg in plan.registrations:
            owners_of.setdefault(id(reg), []).append(qualname)
    # A handler another module registers on the app itself (`from main import app`) is not
    # among those expand follows: lifespan= would silently stop it, so the app keeps them.
    for events in facts.events.values():
        for event in events:
            if not isinstance(event, Registration) or id(event) in owners_of:
                continue
            owner = owner_key(event.owner, facts)
            if owner is not None and owner in plans:
                owners_of[id(event)] = [owner]
                plans[owner].blocked = plans[owner].blocked or (
                    f"{event.path}:{event.line}: registered on the app from another module; "
                    "asyncfix moves only the handlers of the app's module and its routers"
                )
    while True:
        _propagate(plans, owners_of)
        entries = _entries(modules, facts, apps, plans, owners_of, index)
        # The app module's rewrite is tried now, so that no router module is changed for an
        # app whose own module then refuses.
        failed = False
        for path, entry in entries.items():
            migrating = [v for v, a in entry["apps"].items() if migrates(a)]
            if not migrating:
                continue
            problem = _dry_run(index.data(by_path[path].file) or b"", entry, config)
            if problem is not None:
                failed = True
                for var in migrating:
                    plans[f"{by_path[path].name}.{var}"].blocked = f"{path}: {problem}"
        if not failed:
            plan_resources(modules, facts, entries, index, config)
            # Every module looked at gets an entry, even without work: a file without one
            # would be judged on its own, without what the other modules say.
            return entries


def _propagate(plans: Mapping[str, AppPlan], owners_of: Mapping[int, list[str]]) -> None:
    changed = True
    while changed:
        changed = False
        for apps_of in owners_of.values():
            reason = next((plans[a].blocked for a in apps_of if plans[a].blocked), None)
            for a in apps_of:
                if reason and not plans[a].blocked:
                    plans[a].blocked = reason
                    changed = True


def _entries(
    modules: Sequence[ModuleInfo],
    facts: Facts,
    apps: Mapping[str, Owner],
    plans: Mapping[str, AppPlan],
    owners_of: Mapping[int, list[str]],
    index: ProjectIndex,
) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {
        info.path: {
            "digest": digest(index.data(info.file) or b""),
            "apps": {},
            "strip": [],
            "refuse": [],
            "imports": [],
        }
        for info in modules
    }
    for qualname, plan in plans.items():
        owner = apps[qualname]
        entry = entries[owner.info.path]
        calls = _handler_calls(owner.info, plan, entry, index)
        if calls is None:
            plan.blocked = plan.blocked or "a handler's name is taken in the app's module"
        entry["apps"][owner.var] = {
            "blocked": plan.blocked,
            "startup": calls[0] if calls else [],
            "shutdown": calls[1] if calls else [],
        }
    # Registrations: stripped when every app running them migrates, else reported.
    for events in facts.events.values():
        for event in events:
            if not isinstance(event, Registration):
                continue
            apps_of = owners_of.get(id(event), [])
            entry = entries[event.path]
            if not apps_of:
                router = facts.owners.get(owner_key(event.owner, facts) or "")
                entry["refuse"].append(
                    [
                        list(event.key),
                        (
                            "not registered on a module-level FastAPI app or APIRouter"
                            if router is None
                            else f"the APIRouter `{router.var}` is not included by any FastAPI app"
                        ),
                    ]
                )
                continue
            reason = next((plans[a].blocked for a in apps_of if plans[a].blocked), None)
            if reason:
                entry["refuse"].append([list(event.key), reason])
            else:
                entry["strip"].append(list(event.key))
    return entries


def _handler_calls(
    app_module: ModuleInfo, plan: AppPlan, entry: dict[str, Any], index: ProjectIndex
) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]] | None:
    """How the app's lifespan calls each handler: (local name, is async); the imports it
    needs go into the entry."""
    taken = set(app_module.toplevel) | set(app_module.imports)
    local: dict[str, str] = {}
    result: tuple[list[tuple[str, bool]], list[tuple[str, bool]]] = ([], [])
    if plan.blocked:
        return result
    for handlers, out in ((plan.startup, result[0]), (plan.shutdown, result[1])):
        for qualname, _ in handlers:
            module, _, name = qualname.rpartition(".")
            if qualname not in local:
                if module == app_module.name or app_module.imports.get(name) == qualname:
                    local[qualname] = name
                else:
                    alias = next(
                        (
                            c
                            for c in (name, f"{module.rpartition('.')[2]}_{name}")
                            if c not in taken
                        ),
                        None,
                    )
                    if alias is None:
                        return None
                    taken.add(alias)
                    local[qualname] = alias
                    target, level = relative_import(app_module, module)
                    entry["imports"].append([target, name, None if alias == name else alias, level])
            function = index.function(qualname)
            out.append((local[qualname], function is not None and function.is_async))
    return result


def _dry_run(data: bytes, entry: Mapping[str, Any], config: Config) -> str | None:
    if config.too_large(data):  # (the driver leaves it as it is: no libcst parse here either)
        return "the file is over max-file-size, so it is not rewritten"
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        return "the file does not parse"
    return apply_on_event(module, entry, CodemodContext())[1]


_PLANS: weakref.WeakKeyDictionary[ProjectIndex, dict[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def family_plan(index: ProjectIndex, config: Config) -> dict[str, dict[str, Any]]:
    # One plan for the family: every codemod of it gets the same entries.
    if index not in _PLANS:
        plans = compute_plan(index, config)
        bare = bare_test_client(index)
        if bare is not None:
            # AF302 moves a client into the lifespan, which such a test never runs.
            harness = (
                f"a test builds TestClient(app) outside `with` ({bare}), which never runs "
                "the lifespan"
            )
            for entry in plans.values():
                entry["harness"] = harness
        _PLANS[index] = plans
    return _PLANS[index]
