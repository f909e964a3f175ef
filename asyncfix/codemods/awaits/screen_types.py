"""The screen's receiver typing: `ReceiverTypes.type_of`, over-approximated on the
stdlib ast (every class a receiver may have; None when it may be any)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping

from asyncfix.codemods.awaits._shared import (
    DEPENDS,
    LOOP_CLASS,
    LOOPS,
    canonical,
    item_class,
    strip_annotation,
)
from asyncfix.codemods.awaits.facts import ProjectFacts
from asyncfix.codemods.awaits.own_scope import ScreenedDef
from asyncfix.data import coroutines as table
from asyncfix.index import ModuleInfo

# The classes an expression may have: None when it may be any (the screen then says yes).
Types = frozenset[str] | None
_NONE: frozenset[str] = frozenset()


ASYNC_METHODS = {
    name: frozenset(kinds["coroutine"]) | frozenset(kinds["future"])
    for name, kinds in table.CLASSES.items()
}


_ITERATES_SELF = frozenset(name.rsplit(".", 1)[1] for name in table.ITERATES_SELF)


def by_last(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Values by the last part of their key: what a callee `<any receiver>.name` may give."""
    found: dict[str, set[str]] = {}
    for key, value in pairs:
        found.setdefault(key.rsplit(".", 1)[-1], set()).add(value)
    return {key: frozenset(values) for key, values in found.items()}


def _factories(mapping: Mapping[str, str], convert: Callable[[str], str]) -> frozenset[str]:
    """What calling any instance may give (keys `pkg.Factory()`, see `_factory`)."""
    return frozenset(convert(v) for k, v in mapping.items() if k.endswith("()"))


def _as_is(name: str) -> str:
    return name


_RETURNS_BY_LAST = by_last((k, canonical(v)) for k, v in table.RETURNS.items())
_AWAITS_BY_LAST = by_last(table.AWAITS_TO.items())
_ENTERS_BY_LAST = by_last(table.ENTERS.items())
_CALLED_BY_LAST = by_last([*((c, c) for c in table.CLASSES), *((f, LOOP_CLASS) for f in LOOPS)])
_FACTORY_RETURNS = _factories(table.RETURNS, canonical)
_FACTORY_ENTERS = _factories(table.ENTERS, _as_is)


class ScreenTypes:
    """The screen's `type_of`: the classes an expression may have in a module."""

    info: ModuleInfo
    facts: ProjectFacts
    imported: frozenset[str]  # names an import binds in the module's scope
    _in_module: bool  # the expressions walked are the module's own
    # What `<any receiver>.name()` may give by the project's classes and return types:
    # None until first asked (most modules' screens never type a receiver).
    _project_called: dict[str, frozenset[str]] | None

    # -- `type_of` ------------------------------------------------------------------------

    def types(self, node: ast.expr, function: ScreenedDef | None, depth: int) -> Types:
        """The classes `type_of(node)` may give (empty: none)."""
        if depth > 8:
            return None
        found = self._own_types(node, function, depth)
        if found is None or not self.facts.variables:
            return found
        # `type_of`'s module-level instances: a union, as the name may be shadowed.
        variable = self.facts.variables.get(self.info.resolve(node) or "")
        return found | {variable} if variable else found

    def _own_types(self, node: ast.expr, function: ScreenedDef | None, depth: int) -> Types:
        if isinstance(node, ast.Call):
            return self._call_result(node, function, depth)
        if isinstance(node, ast.Await):
            if not isinstance(node.value, ast.Call):
                return _NONE
            return self._through(node.value, function, depth, table.AWAITS_TO, _AWAITS_BY_LAST)
        if isinstance(node, ast.Name):
            return self._name(node.id, function, depth)
        if isinstance(node, ast.Attribute | ast.Subscript):
            owners = self.types(node.value, function, depth + 1)
            if owners is None:
                return None
            attr = node.attr if isinstance(node, ast.Attribute) else None
            return frozenset(i for o in owners if (i := item_class(o, attr)) is not None)
        return _NONE

    def _callees(
        self, call: ast.Call, function: ScreenedDef | None, depth: int
    ) -> tuple[set[str], str | None]:
        """`_callee_name`: the names it may give, and the method name when the receiver
        may be of any class."""
        func = call.func
        exact: set[str] = set()
        resolved = self.info.resolve(func)
        if resolved is not None:
            exact.add(canonical(resolved))
        if isinstance(func, ast.Attribute):
            receiver = self.types(func.value, function, depth + 1)
            if receiver is None:
                return exact, func.attr
            exact.update(f"{name}.{func.attr}" for name in receiver)
        return exact, None

    def _call_result(self, call: ast.Call, function: ScreenedDef | None, depth: int) -> Types:
        exact, method = self._callees(call, function, depth)
        found: set[str] = set()
        for callee in exact:
            if callee in LOOPS:
                found.add(LOOP_CLASS)
            if callee in table.CLASSES or callee in self.facts.classes:
                found.add(callee)
            for returned in (table.RETURNS.get(callee), self.facts.returns.get(callee)):
                if returned:
                    found.add(canonical(returned))
        if method is not None:
            found |= _RETURNS_BY_LAST.get(method, _NONE) | _CALLED_BY_LAST.get(method, _NONE)
            if self._project_called is None:
                self._project_called = by_last(
                    [
                        *((c, c) for c in self.facts.classes),
                        *((k, canonical(v)) for k, v in self.facts.returns.items()),
                    ]
                )
            found |= self._project_called.get(method, _NONE)
        return frozenset(found) | self._factory(call, function, depth, table.RETURNS, canonical)

    def _through(
        self,
        call: ast.Call,
        function: ScreenedDef | None,
        depth: int,
        mapping: Mapping[str, str],
        by_last: Mapping[str, frozenset[str]],
    ) -> frozenset[str]:
        """What awaiting (AWAITS_TO) or entering (ENTERS) the call's result may give."""
        exact, method = self._callees(call, function, depth)
        found = {mapping[callee] for callee in exact if callee in mapping}
        if method is not None:
            found |= by_last.get(method, _NONE)
        return frozenset(found)

    def _factory(
        self,
        call: ast.Call,
        function: ScreenedDef | None,
        depth: int,
        mapping: Mapping[str, str],
        convert: Callable[[str], str],
    ) -> frozenset[str]:
        """`_factory`: `Maker()` where Maker is an instance of a class in `mapping`."""
        if not isinstance(call.func, ast.Name):
            return _NONE
        makers = self.types(call.func, function, depth + 1)
        if makers is None:
            return _factories(mapping, convert)
        return frozenset(convert(mapping[f"{m}()"]) for m in makers if f"{m}()" in mapping)

    def _name(self, name: str, function: ScreenedDef | None, depth: int) -> Types:
        if function is None:
            return _NONE if self._in_module and name in self.imported else None
        scope = function.scope
        bindings = scope.bindings.get(name)
        if name in scope.dirty:
            return None  # bound in a way not modelled
        if not bindings:  # bound beyond the def
            return _NONE if function.top and name in self.imported else None
        if len(bindings) > 1:
            return _NONE  # `_single_assignment`
        kind, node, default = bindings[0]
        if kind == "param":
            assert isinstance(node, ast.arg)
            if function.is_self(node):
                assert function.owner is not None
                return frozenset({function.owner})
            if node.annotation is not None:
                return self._annotation(node.annotation)
            return self._dependency(default)
        if kind == "assign":
            assert isinstance(node, ast.expr)
            return self.types(node, function, depth + 1)
        if kind == "annotation":
            assert isinstance(node, ast.expr)
            return self._annotation(node)
        if kind == "iter":
            return self._iterated(node)
        if kind == "with":
            assert isinstance(node, ast.Call)
            entered = self._through(node, function, depth, table.ENTERS, _ENTERS_BY_LAST)
            return entered | self._factory(node, function, depth, table.ENTERS, _as_is)
        return _NONE

    def _iterated(self, node: ast.AST | None) -> Types:
        """`ReceiverTypes._iterated`: any class for `X.find_all()` (a method of
        ITERATES_SELF), none for anything else."""
        call = node if isinstance(node, ast.Call) else None
        if call is not None and isinstance(call.func, ast.Attribute):
            return None if call.func.attr in _ITERATES_SELF else _NONE
        return _NONE

    def _annotation(self, annotation: ast.expr) -> Types:
        """`_annotation_type`."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return _NONE
            except Exception:  # the transform fails there: let it
                return None
        resolved = self.info.resolve(strip_annotation(annotation))
        return frozenset({self.facts.class_name(resolved)}) if resolved else _NONE

    def _dependency(self, default: ast.expr | None) -> Types:
        """`_param_type` for `db = Depends(get_db)`: the dependency's return annotation."""
        if not isinstance(default, ast.Call):
            return _NONE
        depends = self.info.resolve(default.func)
        if depends is None or canonical(depends) not in DEPENDS:
            return _NONE
        arguments = [a.value if isinstance(a, ast.Starred) else a for a in default.args]
        found: set[str] = set()
        for argument in [*arguments, *(k.value for k in default.keywords)]:
            dependency = self.info.resolve(argument)
            returned = self.facts.returns.get(canonical(dependency)) if dependency else None
            if returned:
                found.add(canonical(returned))
        return frozenset(found)
