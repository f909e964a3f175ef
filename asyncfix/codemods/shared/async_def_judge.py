"""The async_def plan's state and its verdicts on each candidate."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping

from asyncfix import syntax
from asyncfix.codemods.shared.async_def_facts import (
    ASYNC_DEF,
    FRAMEWORK,
    SAFE_DECORATORS,
    SAFE_METHODS,
    Outline,
    Target,
    Walked,
    class_defs,
    closed_world,
    is_stub,
    unsafe_call,
)
from asyncfix.config import Config
from asyncfix.index import (
    ModuleInfo,
    ProjectIndex,
)
from asyncfix.suppressions import suppressions_for


class Judge:
    """The state of a plan (the project, its walks and suppressions) and its verdicts on
    each candidate (suppressed, a method another class overrides, a public name, a
    function defined twice...)."""

    _holders: dict[str, list[ModuleInfo]]  # name -> the modules that spell it (see plan)

    def __init__(
        self,
        index: ProjectIndex,
        config: Config,
        enabled: Collection[str],
        project: Judge | None = None,
    ) -> None:
        """`enabled`: the rule codes of the run. `project`: the plan of the whole project
        when this one is for one of its files, whose walks (and suppressions) it reuses
        rather than makes again."""

        self.index = index
        self.config = config
        self.closed_world = closed_world(config)
        # (a large generated table: imported by a plan, not by the prescreen's module,
        # which most files answer before any plan is made)
        from asyncfix.data import coroutines as table

        # A "pure" method name that is also a coroutine method somewhere (Redis.append,
        # a project's own `async def join`) may be awaited by AF501: not safe.
        coroutine_methods = {
            name
            for kinds in table.CLASSES.values()
            for kind in ("coroutine", "future")
            for name in kinds[kind]
        }
        for module in index.modules(ASYNC_DEF):
            coroutine_methods.update(f.name for f in module.functions.values() if f.is_async)
        self.safe_methods = SAFE_METHODS - coroutine_methods
        self._suppressions: dict[str, dict[int, frozenset[str] | None]] = (
            project._suppressions if project else {}
        )
        self._walked: dict[str, Walked] = project._walked if project else {}
        # A module's candidates are the same in a one-file plan: so is its outline.
        self._outlines: dict[str, Outline] = project._outlines if project else {}
        self._classes: dict[str, list[tuple[str, list[ast.expr], list[str]]]] = (
            project._classes if project else {}
        )

        self.af501 = "AF501" in enabled

    def walked(self, module: ModuleInfo) -> Walked:
        if module.path not in self._walked:
            self._walked[module.path] = Walked(module.tree)
        return self._walked[module.path]

    def _modules_naming(self, names: set[str]) -> dict[str, list[ModuleInfo]]:
        """name -> the modules whose source holds it as a word: one pass over the project."""
        holders: dict[str, list[ModuleInfo]] = {}
        for info, found in self.index.naming(names):
            for name in sorted(found):
                holders.setdefault(name, []).append(info)
        return holders

    def _suppressed(
        self, module: ModuleInfo, lines: Iterable[int], *, with_af501: bool = False
    ) -> bool:
        """`# asyncfix: ignore` for AF601 (or AF501) on one of `lines` of `module`."""
        if module.path not in self._suppressions:
            data = self.index.data(module.file) or b""
            text = data.decode("utf-8", "replace")
            self._suppressions[module.path] = suppressions_for(text, module.path, self.config)
        found = self._suppressions[module.path]
        for line in lines:
            if line in found:
                selectors = found[line]
                if selectors is None or any(
                    "AF601".startswith(s)
                    or s == "async_def"
                    or (with_af501 and ("AF501".startswith(s) or s == "awaits"))
                    for s in selectors
                ):
                    return True
        return False

    def _searched_alone(self, names: Collection[str]) -> bool:
        """Do the searches for `names` alone (`_modules_naming`, then `_class_methods`)
        find, for each of them, what they find among more names? The modules naming a
        name are found module by module, whatever else is asked. `_class_methods` then
        reads the classes of the modules naming any name asked, and a class defining a
        method `name` spells `name` as a word where the index reads words as Python reads
        identifiers: always for an ASCII name, but for a source in an encoding of its own
        (a coding cookie) the words are read as UTF-8. Then the answer is no."""
        if not all(name.isascii() for name in names):
            return False
        for file in self.index.files:
            data = self.index.data(file)
            if data is None or data.isascii():
                continue
            if syntax.may_declare_encoding(data):
                return False
        return True

    def _class_methods(
        self, names: set[str], asked: Collection[str] | None = None
    ) -> dict[str, list[tuple[str, list[ast.expr]]]]:
        """method name -> [(class qualname, its bases)] over the project, for `names`.
        `asked`: the method names of every candidate a whole run judges, when `names` are
        some of them (see _searched_alone): a module's classes are read when the index
        knows a method of it by one of those, as in that run."""
        found: dict[str, list[tuple[str, list[ast.expr]]]] = {}
        if not names:
            return found
        asked = names if asked is None else asked
        # A class defining one of them names it in its source (`_modules_naming`), and
        # the index knows its method (a def whose enclosing scope is a class).
        holders = {m.path: m for name in names for m in self._holders.get(name, [])}
        for file in self.index.files:
            module = holders.get(file.display)
            data = self.index.data(file) if module is not None else None
            if module is None or data is None or b"class " not in data:
                continue
            if not any(f.class_name and f.name in asked for f in module.functions.values()):
                continue
            if module.path not in self._classes:
                self._classes[module.path] = class_defs(module.tree)
            for class_name, bases, methods in self._classes[module.path]:
                for method in (m for m in methods if m in names):
                    qualname = f"{module.name}.{class_name}"
                    found.setdefault(method, []).append((qualname, bases))
        return found

    def _precheck(self, target: Target) -> bool:
        """False (and the target skipped) when no use can change what happens to it."""
        # Protocol methods, tests and framework functions were skipped already (_silent).
        node = target.node
        assert node is not None  # only targets with a tree are judged
        # The lines `report()` looks at: the def's, its first decorator's and, for a
        # method, its class's (the enclosing statement).
        lines = [node.lineno, *(d.lineno for d in node.decorator_list[:1]), *target.owner_lines]
        if self._suppressed(target.module, lines):
            target.skip()  # neither the fix nor the finding, nor any call site
        elif is_stub(node):
            target.skip()  # an interface to implement, not a function to convert
        elif unsafe_call(target.module, node, self.safe_methods) is not None:
            # It calls something that may block or become awaited after other fixes:
            # whether it blocks is the other families' finding, and no def would help.
            target.skip()
        return not target.silent

    def _judge(
        self,
        target: Target,
        classes: Mapping[str, list[tuple[str, list[ast.expr]]]],
        problems: list[str],
    ) -> None:
        """The verdict on a target `_precheck` passed, with its uses' `problems`."""
        info, node = target.info, target.node
        assert node is not None
        name = info.name
        if FRAMEWORK in problems:
            return target.skip()
        if self._defined_twice(target):
            target.refuse(
                f"{target.key} is defined more than once (conditionally?): the call sites "
                "cannot tell which one they call"
            )
        for decorator, written in zip(info.decorators, node.decorator_list, strict=True):
            if decorator not in SAFE_DECORATORS:
                target.refuse(
                    f"decorated with @{ast.unparse(written)}: the decorator may rely on a "
                    "coroutine function"
                )
        if not name.startswith("_") and not self.closed_world:
            target.refuse(
                "public name: code outside the project may await it "
                "(set `[tool.asyncfix.async_def] closed-world = true` if there is none)"
            )
        if info.class_name is not None:
            self._judge_method(target, classes)
        for problem in problems:
            target.refuse(problem)
        return None

    def _judge_files(self, target: Target) -> None:
        """A conversion changes its call sites too: refused when one is in a file the run
        must not change (only some of the project's files were given)."""
        if self.index.outside(target.module.path):
            return target.refuse("its module is not among the files given")
        for path in sorted(target.sites):
            if self.index.outside(path):
                return target.refuse(
                    f"{path} awaits it and is not among the files given: run asyncfix on "
                    "both files (or the whole project) to convert it"
                )
        return None

    def _defined_twice(self, target: Target) -> bool:
        """Two defs (or classes) under one qualified name: `if ...: async def f` / `else:`."""
        twice = target.defined_twice
        owner = target.key.rpartition(".")[0]
        return target.key in twice or (bool(owner) and owner in twice)

    def _judge_method(
        self, target: Target, classes: Mapping[str, list[tuple[str, list[ast.expr]]]]
    ) -> None:
        owner = target.info.qualname.rsplit(".", 1)[0]
        definitions = classes.get(target.info.name, [])
        for qualname, bases in definitions:
            if qualname == owner:
                named = [b for b in bases if not (isinstance(b, ast.Name) and b.id == "object")]
                if named:
                    target.refuse(
                        f"its class derives from {ast.unparse(named[0])}: it may override "
                        "an async method callers await"
                    )
            else:
                target.refuse(
                    f"class {qualname.rsplit('.', 1)[-1]} also defines {target.info.name}(): "
                    "an override or an "
                    "overridden method must stay async for callers that await it"
                )

    # -- uses ------------------------------------------------------------------------------

    def _aliases(self, target: Target) -> set[str]:
        """Qualified names under which the project can reach the function (re-exports)."""
        aliases = {target.info.qualname}
        changed = True
        modules = self._holders.get(target.info.name, [])
        while changed:
            changed = False
            for module in modules:
                for local, qualified in module.imports.items():
                    alias = f"{module.name}.{local}"
                    if qualified in aliases and alias not in aliases:
                        aliases.add(alias)
                        changed = True
        return aliases

    def _refused_anyway(self, target: Target) -> bool:
        """Will _judge refuse it whatever its uses are (a finding before theirs)?"""
        info = target.info
        public = not info.name.startswith("_") and not self.closed_world
        unsafe_decorator = any(d not in SAFE_DECORATORS for d in info.decorators)
        return public or unsafe_decorator or self._defined_twice(target)
