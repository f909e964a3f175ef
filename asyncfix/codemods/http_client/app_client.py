"""The app-wide client of a FastAPI app: the one app of the module (or, by the plan, of
another module including its routers) whose lifespan can take the client; the path
operations and dependencies that must use it (`request.app.state.http_client`, a
`request: Request` parameter added when they have none); the lifespan resource added
once the visit is done."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import ImportAssignment, Scope

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.helpers import module_name_at
from asyncfix.codemods.http_client._shared import ROUTE_DECORATORS, dotted_of, qualified_names
from asyncfix.codemods.http_client.options import HttpOptions, shared_client
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
from asyncfix.versions import FASTAPI_LIFESPAN, missing


class SharedClient:
    """Where a codemod's calls in FastAPI handlers get the app's shared client."""

    def __init__(self, codemod: AsyncfixCodemod, options: HttpOptions) -> None:
        self._codemod = codemod
        self._options = options
        self.dependencies: set[str] = set()  # this module's functions used in Depends
        self._local_dependencies: set[str] = set()  # ... in this module's own Depends
        # The app of this module whose lifespan can take the shared client, and its routers.
        self.app: tuple[str, frozenset[str]] | None = None
        self.used = False
        self._has_app = False
        self._blocked_by: str | None = None  # where a handler in another module registers
        self._too_old: str | None = None  # why the project's FastAPI may lack lifespan=
        self.add_request: set[cst.FunctionDef] = set()

    def collect_dependencies(self, module: cst.Module) -> None:
        """The dependencies of the plan (used from other modules) and of this module."""
        self.dependencies = set((self._codemod.planned or {}).get("dependencies", ()))
        for call in m.findall(
            module, m.Call(func=m.Name("Depends") | m.Attribute(attr=m.Name("Depends")))
        ):
            if isinstance(call, cst.Call) and call.args:
                self._local_dependencies.add(dotted_of(call.args[0].value) or "")
        self.dependencies |= self._local_dependencies

    def is_endpoint(self, function: cst.FunctionDef) -> bool:
        """A FastAPI path operation (a route decorator) or dependency (used in Depends)."""
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call) and m.matches(
                target.func, m.Attribute(attr=m.Name(m.MatchIfTrue(ROUTE_DECORATORS.__contains__)))
            ):
                return True
        return function.name.value in self.dependencies

    def find(self, module: cst.Module) -> tuple[str, frozenset[str]] | None:
        """The one `app = FastAPI(...)` of this module, if its lifespan can take the client,
        with the routers included into it here."""
        self._blocked_by = (self._codemod.planned or {}).get("shared_blocked")
        if self._blocked_by:
            return None
        apps: list[str] = []
        routers: set[str] = set()
        included: set[str] = set()
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                continue
            small = stmt.body[0]
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                target = small.targets[0].target if len(small.targets) == 1 else None
                func = dotted_of(small.value.func)
                if isinstance(target, cst.Name) and func in ("FastAPI", "fastapi.FastAPI"):
                    apps.append(target.value)
                if isinstance(target, cst.Name) and func in ("APIRouter", "fastapi.APIRouter"):
                    routers.add(target.value)
            elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                call = small.value
                if m.matches(call.func, m.Attribute(attr=m.Name("include_router"))) and call.args:
                    included.add(dotted_of(call.args[0].value) or "")
        self._has_app = bool(apps)
        if len(apps) != 1:
            return None
        self._too_old = missing(self._codemod.run.config, FASTAPI_LIFESPAN, self._codemod.run.path)
        if self._too_old is not None:
            return None
        create, close = shared_client(self._options)
        if add_lifespan_resource(module, apps[0], "http_client", create, close) is None:
            return None
        return apps[0], frozenset(routers & included)

    def request_for(self, function: cst.FunctionDef, scope: Scope) -> tuple[str | None, str | None]:
        """The handler's `Request` parameter (added when it has none), or why not."""
        needs = (
            "in a FastAPI path operation or dependency it needs the app's shared client "
            "(request.app.state.http_client, created in the lifespan)"
        )
        elsewhere = set((self._codemod.planned or {}).get("shared_routers", ()))
        harness = (self._codemod.planned or {}).get("harness")
        if harness:
            return None, f"{needs}; {harness}"
        if self.app is None and self._blocked_by and not elsewhere:
            return None, (
                f"{needs}; the on_event handler at {self._blocked_by} (another module) may "
                "register on this module's app, and lifespan= would stop it from running"
            )
        refused = (self._codemod.planned or {}).get("shared_refused")
        if self.app is None and refused and not elsewhere:
            return None, f"{needs}; {refused}"
        if self.app is None and not self._has_app and not elsewhere:
            return None, needs + "; the app is built in another module"
        if self.app is None and self._too_old is not None and not elsewhere:
            return None, f"{needs}; {self._too_old}"
        if self.app is None and not elsewhere:
            return None, needs + "; this module's app lifespan cannot take it"
        app, routers = self.app or ("", frozenset())
        routers = routers | elsewhere
        ours = self.app is not None and function.name.value in self._local_dependencies
        for decorator in function.decorators:
            target = decorator.decorator
            if (
                isinstance(target, cst.Call)
                and isinstance(target.func, cst.Attribute)
                and isinstance(target.func.value, cst.Name)
                and target.func.value.value in {app, *routers} - {""}
            ):
                if target.func.attr.value == "websocket":
                    return None, needs + "; a websocket handler has no Request"
                ours = ours or target.func.attr.value in ROUTE_DECORATORS
        if not ours:
            return None, needs + "; its app is not in this module"
        found = module_name_at(scope.globals, self._options.library)
        if found is None or found.name != self._options.library:
            return (
                None,
                f"the name `{self._options.library}` is bound to something else in this module",
            )
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.annotation is not None and qualified_names(
                self._codemod, param.annotation.annotation
            ) & {"fastapi.Request", "starlette.requests.Request"}:
                return param.name.value, None
        if "request" in scope:
            return None, needs + "; the name `request` is already used in the handler"
        if "Request" in scope.globals and not all(
            isinstance(a, ImportAssignment) for a in scope.globals["Request"]
        ):
            return None, needs + "; the name `Request` is bound to something else"
        return "request", None  # a parameter to add, once the call is really rewritten

    def add_request_param(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        """`request: Request` added to a handler whose call now uses the shared client."""
        if original_node not in self.add_request:
            return updated_node
        AddImportsVisitor.add_needed_import(self._codemod.context, "fastapi", "Request")
        param = cst.Param(cst.Name("request"), annotation=cst.Annotation(cst.Name("Request")))
        params = updated_node.params
        defaults = any(p.default is not None for p in (*params.posonly_params, *params.params))
        if isinstance(params.star_arg, cst.Param | cst.ParamStar) or defaults:
            # After parameters with defaults it can only be keyword-only.
            star = params.star_arg if isinstance(params.star_arg, cst.Param) else cst.ParamStar()
            params = params.with_changes(
                star_arg=star, kwonly_params=[*params.kwonly_params, param]
            )
        else:
            params = params.with_changes(params=[*params.params, param])
        return updated_node.with_changes(params=params)

    def install(self, module: cst.Module) -> cst.Module:
        """`module` with the shared client in its app's lifespan, where it is used (or the
        plan gives it to routers elsewhere): the app module of routers elsewhere gets the
        client even without requests calls of its own."""
        planned_app: str | None = (self._codemod.planned or {}).get("add_shared")
        if self.used and self.app is not None:
            planned_app = self.app[0]
        if planned_app is None:
            return module
        create, close = shared_client(self._options)
        context = self._codemod.context
        added = add_lifespan_resource(
            module, planned_app, "http_client", create, close, context=context
        )
        if added is None:  # checked before (here or in the plan): a bug if it happens
            raise RuntimeError("the app's lifespan could not take the shared client")
        if added is not module:
            AddImportsVisitor.add_needed_import(context, self._options.library)
            self._codemod.require_package(self._options.library)
        return added
