"""The AF201 plan: which functions of a module FastAPI uses as dependencies (from any
module), and which app's lifespan can take a shared client for the routers of other
modules. Decided once, on the project index, for every file it concerns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst

from asyncfix.codemods.http_client.blocking_apis import REQUESTS
from asyncfix.codemods.http_client.options import (
    LIBRARIES,
    HttpOptions,
    http_options,
    shared_client,
)
from asyncfix.codemods.shared.app_events import foreign_handlers
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
from asyncfix.codemods.shared.test_harness import bare_test_client, patched_requests
from asyncfix.config import Config
from asyncfix.index import FunctionInfo, ModuleInfo, ProjectIndex
from asyncfix.versions import FASTAPI_LIFESPAN, missing


def _app_can_take_client(info: ModuleInfo, app: str, options: HttpOptions, config: Config) -> bool:
    """Would add_lifespan_resource succeed on this app module (checked in the plan, on the
    module as it is; the transform checks again and stops the file if not)? Not when the
    module is over max-file-size: the driver leaves it as it is."""
    bound = info.imports.get(options.library)
    if options.library in info.toplevel or (bound is not None and bound != options.library):
        return False

    try:
        data = info.file.path.read_bytes()
        module = None if config.too_large(data) else cst.parse_module(data)
    except (OSError, cst.ParserSyntaxError):
        return False
    if module is None:
        return False
    create, close = shared_client(options)
    return add_lifespan_resource(module, app, "http_client", create, close) is not None


def _requests_spelt(info: ModuleInfo) -> bool:
    """REQUESTS.may_be_spelt(info.tree, ast.AsyncFunctionDef), from the index's facts of
    a module that spells `requests` (no tree parsed again)."""
    imported = info.imported_modules
    if not any(
        name == module or name.startswith(module + ".")
        for module in sorted(REQUESTS.modules)
        for name in imported
    ):
        return False
    return not REQUESTS.last_names.isdisjoint(info.async_call_names)


class _FunctionsIn:
    """`ProjectIndex.function(qualname, *tokens)` for many qualnames: the modules holding
    `tokens` are gone through once, at the first look-up, not again for each."""

    def __init__(self, index: ProjectIndex, *tokens: bytes) -> None:
        self._index = index
        self._tokens = tokens
        self._found: dict[str, FunctionInfo] | None = None

    def get(self, qualname: str) -> FunctionInfo | None:
        if self._found is None:
            self._found = {}
            for info in self._index.modules(*self._tokens):
                for name, function in info.functions.items():
                    if name.startswith(info.name + "."):
                        self._found.setdefault(name, function)  # the first module wins
        return self._found.get(qualname)


def plan_requests(index: ProjectIndex, config: Config) -> dict[str, dict[str, Any]]:
    """display path -> the AF201 plan of that file: `dependencies` (its functions that
    FastAPI's Depends uses, in other modules too), `shared_blocked` (an on_event handler
    elsewhere registers on its app), `shared_routers` and `add_shared` (_plan_routers),
    `harness` and `patched` (what the project's tests assume: see test_harness)."""
    plans: dict[str, dict[str, Any]] = {}
    requesting = _FunctionsIn(index, b"requests")
    # (the index holds each module's Depends() targets: no tree is parsed or walked here)
    for info in index.modules(b"Depends", b"Security"):
        for qualname in info.fastapi_dependencies:
            found = requesting.get(qualname)
            if found is not None:
                deps = plans.setdefault(found.path, {}).setdefault("dependencies", [])
                deps.append(found.qualname.removeprefix(found.module + "."))
    # The shared client goes into the app's lifespan; `lifespan=` silently disables
    # event handlers that another module may register on that app, so then it does not.
    foreign = foreign_handlers(index)
    apps: dict[str, tuple[ModuleInfo, str]] = {}
    for info in index.modules(b"FastAPI"):
        names = [n for n, (c, _) in info.assignments.items() if c == "fastapi.FastAPI"]
        if names and info.path in foreign:
            plans.setdefault(info.path, {})["shared_blocked"] = foreign[info.path]
        elif len(names) == 1:
            apps[f"{info.name}.{names[0]}"] = (info, names[0])
    imported = _imported_client(index, config)
    bare, patched = bare_test_client(index), patched_requests(index)
    spelt = _requesting(index)
    for info in spelt:
        plan = plans.setdefault(info.path, {})
        if imported is not None:
            plan["imported_client"] = imported
        if bare is not None:
            plan["harness"] = (
                f"a test builds TestClient(app) outside `with` ({bare}), which never runs "
                "the lifespan that creates it"
            )
        if info.name in patched:
            plan["patched"] = (
                f"a test patches this module's requests ({patched[info.name]}), an import "
                "the rewrite removes"
            )
        if not plan:
            del plans[info.path]
    _plan_routers(index, spelt, apps, plans, config, imported)
    return plans


def _requesting(index: ProjectIndex) -> list[ModuleInfo]:
    """The modules that `_requests_spelt`, in the index's order. The calls it reads are
    those inside an async def: a module whose bytes do not spell `async` has none, and
    is not indexed for it."""
    found = []
    for file in index.holding((b"requests",)):
        data = index.data(file)
        if data is None or b"async" not in data:
            continue
        info = index.module(file)
        if info is not None and _requests_spelt(info):
            found.append(info)
    return found


def _imported_client(index: ProjectIndex, config: Config) -> str | None:
    """The async client the project's own code (not its tests) imports, for a project
    that declares none: it is installed, and a second one would be a new dependency."""
    for library in LIBRARIES:
        for info in index.modules(library.encode()):
            if config.in_test_code(info.path):
                continue
            if any(q == library or q.startswith(f"{library}.") for q in info.imports.values()):
                return library
    return None


def _plan_routers(
    index: ProjectIndex,
    spelt: Sequence[ModuleInfo],
    apps: Mapping[str, tuple[ModuleInfo, str]],
    plans: dict[str, dict[str, Any]],
    config: Config,
    imported: str | None,
) -> None:
    """A router with requests calls, included into exactly one app of another module
    whose lifespan can take the client: its handlers use the shared client, and that
    app module gets it. Decided here, once, for both files. `spelt`: the modules that
    `_requests_spelt` (see `_requesting`): nothing in the others would use the client
    (sync handlers run in threads)."""
    owners: dict[str, set[str]] = {}
    for info in index.modules(b"include_router"):
        for owner, router in info.router_includes:  # (from the index: no tree walked)
            owners.setdefault(router, set()).add(owner)
    feasible: dict[str, bool] = {}
    for info in spelt:
        for name, (callee, _) in info.assignments.items():
            if callee not in ("fastapi.APIRouter", "fastapi.routing.APIRouter"):
                continue
            including = owners.get(f"{info.name}.{name}", set())
            if len(including) != 1 or next(iter(including)) not in apps:
                continue  # several apps, or a router inside another router
            app_info, app = apps[next(iter(including))]
            if app_info.path == info.path:
                continue  # the same module: its transform decides alone
            if index.outside(info.path) or index.outside(app_info.path):
                continue  # both change or neither: each file then decides alone
            too_old = missing(config, FASTAPI_LIFESPAN, app_info.file.path)
            if too_old is not None:  # lifespan= would be ignored: no client ever created
                plans.setdefault(info.path, {})["shared_refused"] = too_old
                continue
            options = http_options(config, app_info.file.path, imported)
            if http_options(config, info.file.path, imported).library != options.library:
                continue  # the two services declare different clients: each decides alone
            if app_info.path not in feasible:
                feasible[app_info.path] = _app_can_take_client(app_info, app, options, config)
            if feasible[app_info.path]:
                plans.setdefault(info.path, {}).setdefault("shared_routers", []).append(name)
                plans.setdefault(app_info.path, {})["add_shared"] = app
