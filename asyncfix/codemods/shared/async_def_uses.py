"""The async_def plan's search for every use of a candidate."""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Mapping, Sequence

from asyncfix.codemods.shared.async_def_facts import (
    FRAMEWORK,
    FRAMEWORK_CALLS,
    Target,
    may_name_framework,
    site_lines,
)
from asyncfix.codemods.shared.async_def_judge import Judge
from asyncfix.index import ModuleInfo


class UseFinder(Judge):
    """The plan's search for every use of a candidate, and why a use is not a plain
    awaited call."""

    def _find_uses(self, targets: Sequence[Target], keep: Collection[str]) -> list[list[str]]:
        """For each target, why some use is not a plain awaited call ([] when every use is
        one). A target refused anyway needs only whether one is a framework's (or a
        suppressed call), which modules naming no framework call and holding no
        suppression cannot have. Module by module, in the index's order (each target
        meets its modules in the same order as alone): a module is walked once for all
        the targets whose name it holds, and its walk, which keeps the whole tree, goes
        when they are done with it unless its path is in `keep`."""
        wanting: dict[str, list[int]] = {}
        modules: dict[str, ModuleInfo] = {}
        for i, target in enumerate(targets):
            for module in self._holders.get(target.info.name, []):
                wanting.setdefault(module.path, []).append(i)
                modules[module.path] = module
        framework_only = [self._refused_anyway(t) for t in targets]
        words = [re.compile(rf"\b{re.escape(t.info.name)}\b") for t in targets]
        aliases = [self._aliases(t) if t.info.class_name is None else set() for t in targets]
        problems: list[list[str]] = [[] for _ in targets]
        framework = [False] * len(targets)
        for file in self.index.files:
            if file.display not in wanting:
                continue
            module = modules[file.display]
            # (a search of the whole source: once per module, not per target)
            names_framework = may_name_framework(module.data)
            for i in wanting[file.display]:
                target = targets[i]
                if framework[i] or (framework_only[i] and not names_framework):
                    continue
                walked = self.walked(module)
                # Only nodes spelling the name (or an import alias of it) can be uses.
                spelled = {
                    target.info.name,
                    *(local for local, q in module.imports.items() if q in aliases[i]),
                }
                for node in walked.candidates(spelled, target.info.name, words[i]):
                    problem = self._use(target, module, node, walked.parents, words[i], aliases[i])
                    if problem == FRAMEWORK:
                        framework[i] = True
                        break
                    if problem is not None:
                        where = f"{module.path}:{getattr(node, 'lineno', 1)}"
                        problems[i].append(f"{problem} at {where}")
            if file.display not in keep:
                self._walked.pop(file.display, None)
        return [
            [FRAMEWORK] if framework[i] else [] if framework_only[i] else problems[i][:1]
            for i in range(len(targets))
        ]

    def _use(
        self,
        target: Target,
        module: ModuleInfo,
        node: ast.AST,
        parents: Mapping[ast.AST, ast.AST],
        word: re.Pattern[str],
        aliases: set[str],
    ) -> str | None:
        """A reason when `node` uses the function other than as `await f(...)`."""
        name = target.info.name
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if word.search(node.value):
                return "its name appears in a string (mock.patch, getattr, __all__?)"
            return None
        if isinstance(node, ast.ImportFrom) and target.info.class_name is None:
            if any(a.name == "*" for a in node.names) and not name.startswith("_"):
                return "a star import may bring it in under its own name"
            return None
        if target.info.class_name is not None:
            return self._method_use(target, module, node, parents)
        if isinstance(node, ast.Name):
            local = module.name == target.module.name and node.id == name
            imported = module.imports.get(node.id) in aliases
            if not (local or imported):
                candidates = module.ambiguous.get(node.id, ())
                if target.module.path in candidates:
                    return (
                        f"`{node.id}` may be this function or another, its module being one "
                        f"of {', '.join(candidates)} (same-named modules)"
                    )
                return None
            spelled = node.id
        elif isinstance(node, ast.Attribute) and node.attr == name:
            resolved = module.resolve(node)
            if resolved not in aliases:
                head: ast.expr = node.value
                while isinstance(head, ast.Attribute):
                    head = head.value
                if isinstance(head, ast.Name) and head.id in module.imports:
                    return None  # an attribute of another module
                return f"`{ast.unparse(node)}` may refer to it"
            spelled = ast.unparse(node)
        else:
            return None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            return "the name is rebound"
        if self._awaited_call(node, parents):
            if self._suppressed(module, site_lines(node, parents)):
                return FRAMEWORK  # a call site kept as it is: so must the function be
            if self._in_lifecycle(module, node, parents):
                # Awaited by a lifespan or startup handler (AF301 writes such calls): it
                # runs once, so a def gains nothing, as for a handler FastAPI calls itself.
                return FRAMEWORK
            target.sites.setdefault(module.path, set()).add(spelled)
            return None
        if self._dropped_call(node, parents):
            # AF501 would await it; as a def the call simply runs (see ForgottenAwait).
            if self._suppressed(module, site_lines(node, parents), with_af501=True):
                return FRAMEWORK
            target.sites.setdefault(module.path, set()).add(f"!{spelled}")
            return None
        if isinstance(node, ast.Name) and node.id in self.walked(module).lifecycle:
            return FRAMEWORK  # registered as a startup/shutdown handler (on_startup=[f])
        return self._framework_use(node, parents) or (
            "used other than as a direct awaited call (passed, stored, scheduled or returned)"
        )

    def _dropped_call(self, node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> bool:
        """`f(...)` as a statement of an async def, which AF501 awaits when it is selected."""
        if not self.af501:
            return False
        call = parents.get(node)
        statement = parents.get(call) if call is not None else None
        if not (
            isinstance(call, ast.Call) and call.func is node and isinstance(statement, ast.Expr)
        ):
            return False
        current = parents.get(statement)
        while current is not None and not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            current = parents.get(current)
        return isinstance(current, ast.AsyncFunctionDef)

    def _in_lifecycle(
        self, module: ModuleInfo, node: ast.AST, parents: Mapping[ast.AST, ast.AST]
    ) -> bool:
        """Is `node` in the body of one of the module's startup/shutdown functions?"""
        function = parents.get(node)
        while function is not None and not isinstance(
            function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            function = parents.get(function)
        return (
            isinstance(function, ast.AsyncFunctionDef)
            and isinstance(parents.get(function), ast.Module)
            and function.name in self.walked(module).lifecycle
        )

    @staticmethod
    def _awaited_call(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> bool:
        call = parents.get(node)
        awaited = parents.get(call) if call is not None else None
        return (
            isinstance(call, ast.Call)
            and call.func is node
            and isinstance(awaited, ast.Await)
            and awaited.value is call
        )

    def _framework_use(self, node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> str | None:
        parent = parents.get(node)
        if isinstance(parent, ast.keyword):
            parent = parents.get(parent)
        if isinstance(parent, ast.Call):
            func = parent.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in FRAMEWORK_CALLS:
                return FRAMEWORK
        return None

    def _method_use(
        self,
        target: Target,
        module: ModuleInfo,
        node: ast.AST,
        parents: Mapping[ast.AST, ast.AST],
    ) -> str | None:
        name = target.info.name
        if isinstance(node, ast.Name) and node.id == name and module is target.module:
            return "the name is used other than as a method"
        if not (isinstance(node, ast.Attribute) and node.attr == name):
            return None
        spelled = ast.unparse(node)
        dropped = self._dropped_call(node, parents)
        if not self._awaited_call(node, parents) and not dropped:
            return self._framework_use(node, parents) or (
                f"`{spelled}` is used other than as a direct awaited call"
            )
        method = self._enclosing_method(node, parents)
        owner_ok = (
            module.path == target.module.path
            and method is not None
            and isinstance(node.value, ast.Name)
            and method[1] == node.value.id
            and method[0] == target.info.class_name
        )
        if not owner_ok:
            return f"`{spelled}` is called on an object asyncfix cannot tie to its class"
        if self._suppressed(module, site_lines(node, parents), with_af501=dropped):
            return FRAMEWORK  # a call site kept as it is: so must the function be
        target.sites.setdefault(module.path, set()).add(f"{'!' if dropped else ''}self.{name}")
        return None

    @staticmethod
    def _enclosing_method(
        node: ast.AST, parents: Mapping[ast.AST, ast.AST]
    ) -> tuple[str, str] | None:
        """(class name, first parameter) of the top-level class method containing node."""
        current = parents.get(node)
        while current is not None and not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            current = parents.get(current)
        if not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            return None
        owner = parents.get(current)
        if not isinstance(owner, ast.ClassDef) or not isinstance(parents.get(owner), ast.Module):
            return None
        if any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in current.decorator_list):
            return None
        args = current.args.posonlyargs + current.args.args
        return (owner.name, args[0].arg) if args else None
