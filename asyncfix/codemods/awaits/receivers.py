"""Receiver typing on libcst: the class of a receiver expression when it is certain, by
annotations, constructors, factories, `async with`, awaits, item chains and module-level
instances."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ClassScope,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    ScopeProvider,
)

from asyncfix.codemods.awaits._shared import (
    LOOP_CLASS,
    LOOPS,
    PROJECTION,
    UNBOUND,
    canonical,
    item_class,
    strip_annotation,
)
from asyncfix.codemods.awaits.facts import ProjectFacts
from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.data import coroutines as table
from asyncfix.index import ModuleInfo


class ReceiverTypes(AsyncfixCodemod):
    """`type_of` and the name resolution it rests on, for the family's codemod; `info` and
    `facts` are set by its `transform` before the walk."""

    info: ModuleInfo
    facts: ProjectFacts

    def _global_head(self, node: cst.BaseExpression) -> bool:
        """Is the head name of a dotted expression bound at module level (or a builtin)?"""
        head = node
        while isinstance(head, cst.Attribute):
            head = head.value
        if not isinstance(head, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, head, None)
        if scope is None:
            return False
        assignments = scope[head.value]
        return all(isinstance(a.scope, GlobalScope) for a in assignments)

    def _qualified(self, node: cst.BaseExpression) -> str | None:
        dotted = get_full_name_for_node(node)
        if dotted is None or not self._global_head(node):
            return None
        parsed = ast.parse(dotted, mode="eval").body
        resolved = self.info.resolve(parsed)
        return canonical(resolved) if resolved else None

    def _annotation_type(self, annotation: cst.BaseExpression) -> str | None:
        code = cst.Module([]).code_for_node(annotation)
        try:
            expr = ast.parse(code.strip(), mode="eval").body
        except SyntaxError:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            try:
                expr = ast.parse(expr.value, mode="eval").body
            except SyntaxError:
                return None
        resolved = self.info.resolve(strip_annotation(expr))
        return self.facts.class_name(resolved) if resolved else None

    def _is_class(self, name: str) -> bool:
        return name in table.CLASSES or name in self.facts.classes

    def _single_assignment(self, name: cst.Name) -> Assignment | None:
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
            return None
        if isinstance(assignments[0], ImportAssignment):
            return None
        return assignments[0]

    def type_of(self, node: cst.BaseExpression, depth: int = 0) -> str | None:
        """The class of a receiver expression, when it is certain; None otherwise."""
        if depth > 8:
            return None
        if isinstance(node, cst.Call):
            return self._call_result(node, depth)
        if isinstance(node, cst.Await) and isinstance(node.expression, cst.Call):
            callee = self._callee_name(node.expression, depth)
            return table.AWAITS_TO.get(callee or "")
        if isinstance(node, cst.Name | cst.Attribute) and self.facts.variables:
            # A module-level instance, of this module or imported (`from app.db import feeds`).
            variable = self.facts.variables.get(self._qualified(node) or "")
            if variable is not None:
                return variable
        if isinstance(node, cst.Attribute | cst.Subscript):
            owner = self.type_of(node.value, depth + 1)
            return item_class(owner, node.attr.value if isinstance(node, cst.Attribute) else None)
        if not isinstance(node, cst.Name):
            return None
        self_class = self._self_class(node)
        if self_class is not None:
            return self_class
        assignment = self._single_assignment(node)
        if assignment is None:
            return None
        target = assignment.node
        if isinstance(target, cst.Param):
            return self._param_type(target)
        parent = self.get_metadata(ParentNodeProvider, target, None)
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return self._annotation_type(parent.annotation.annotation)
        if isinstance(parent, cst.AssignTarget):
            assign = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                return self.type_of(assign.value, depth + 1)
        if isinstance(parent, cst.AsName):
            item = self.get_metadata(ParentNodeProvider, parent, None)
            with_ = self.get_metadata(ParentNodeProvider, item, None) if item else None
            if (
                isinstance(item, cst.WithItem)
                and isinstance(with_, cst.With)
                and with_.asynchronous is not None
                and isinstance(item.item, cst.Call)
            ):
                return self._entered(item.item, depth)
        if isinstance(parent, cst.For) and parent.asynchronous is not None:
            return self._iterated(parent.iter) if parent.target is target else None
        return None

    def _iterated(self, node: cst.BaseExpression) -> str | None:
        """`Model.find_all()` (ITERATES_SELF) on a project subclass of a table class: the
        instances `async for` gives are Model's, unless a projection model is asked for."""
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return None
        owner = self._qualified(node.func.value) or ""
        library = self.facts.inherited.get(owner)
        filters = table.ITERATES_SELF.get(f"{library}.{node.func.attr.value}")
        if library is None or filters is None:
            return None
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if arg.star or keyword == PROJECTION or (keyword is None and not filters):
                return None
        return owner

    def _param_type(self, param: cst.Param) -> str | None:
        if param.annotation is not None:
            return self._annotation_type(param.annotation.annotation)
        # `db = Depends(get_db)`: the dependency's return annotation.
        default = param.default
        if (
            isinstance(default, cst.Call)
            and default.args
            and self._qualified(default.func) in ("fastapi.Depends", "fastapi.params.Depends")
        ):
            dependency = self._qualified(default.args[0].value)
            returned = self.facts.returns.get(dependency or "")
            return canonical(returned) if returned else None
        return None

    def _self_class(self, name: cst.Name) -> str | None:
        """`self` in a method of a top-level class of this module -> that class."""
        assignment = self._single_assignment(name)
        if assignment is None or not isinstance(assignment.node, cst.Param):
            return None
        scope = assignment.scope
        if not isinstance(scope, FunctionScope) or not isinstance(scope.node, cst.FunctionDef):
            return None
        function = scope.node
        params = function.params.params
        if not params or params[0] is not assignment.node:
            return None
        if any(
            isinstance(d.decorator, cst.Name) and d.decorator.value in UNBOUND
            for d in function.decorators
        ):
            return None
        if not isinstance(scope.parent, ClassScope) or not isinstance(
            scope.parent.node, cst.ClassDef
        ):
            return None
        if not isinstance(scope.parent.parent, GlobalScope):
            return None
        return f"{self.info.name}.{scope.parent.node.name.value}"

    def _callee_name(self, call: cst.Call, depth: int) -> str | None:
        """`mod.func` or `pkg.Class.method` (by the receiver's type) for a call."""
        if isinstance(call.func, cst.Attribute):
            receiver = self.type_of(call.func.value, depth + 1)
            if receiver is not None:
                return f"{receiver}.{call.func.attr.value}"
        return self._qualified(call.func)

    def _factory(self, call: cst.Call, depth: int) -> str | None:
        """`SessionLocal()` where SessionLocal is an instance: "its.Class()"."""
        if not isinstance(call.func, cst.Name):
            return None
        factory = self.type_of(call.func, depth + 1)
        return f"{factory}()" if factory else None

    def _call_result(self, call: cst.Call, depth: int) -> str | None:
        callee = self._callee_name(call, depth)
        if callee in LOOPS:
            return LOOP_CLASS
        if callee is not None and self._is_class(callee):
            return callee
        returned = table.RETURNS.get(callee or "") or self.facts.returns.get(callee or "")
        if returned is None:
            returned = table.RETURNS.get(self._factory(call, depth) or "")
        return canonical(returned) if returned else None

    def _entered(self, call: cst.Call, depth: int) -> str | None:
        entered = table.ENTERS.get(self._callee_name(call, depth) or "")
        return entered or table.ENTERS.get(self._factory(call, depth) or "")
