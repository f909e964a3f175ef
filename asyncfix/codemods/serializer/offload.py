"""AF104: pandas and json file I/O on the event loop, to a worker thread."""

from __future__ import annotations

import libcst as cst

from asyncfix.codemods.base import Rule
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    inside_sync_lock,
    is_primary_operand,
    make_await,
    module_name_at,
    to_thread_call,
)
from asyncfix.codemods.serializer._shared import argument, only_str_keys
from asyncfix.codemods.serializer.lookups import SerializerBase
from asyncfix.codemods.serializer.sites import (
    JSON_FILE_IO,
    PANDAS_MAKERS,
    PANDAS_METHODS,
    PANDAS_READERS,
    PANDAS_TYPES,
)
from asyncfix.versions import ASYNCIO_TO_THREAD, missing

AF104 = Rule(
    code="AF104",
    name="cpu-heavy-serialization-in-async",
    summary="pandas and json file I/O in async def -> await asyncio.to_thread(...)",
    why=(
        "DataFrame.to_json/to_dict/to_csv, pandas.read_* and json.dump/json.load on a file "
        "are long CPU and disk work; on the event loop they stall every other request."
    ),
    fix=(
        "`await asyncio.to_thread(f, *args, **kwargs)` runs the same call, with the same "
        "arguments (still evaluated first, on the loop), in a worker thread. Only where "
        "the receiver is known to be a pandas object (a pandas.DataFrame/Series annotation, "
        "a pandas constructor, a pandas.read_* result), and for json.dump/json.load only on a "
        "file opened with open() in the same function. The object handed to the thread "
        "must be a name local to the async def: other tasks run meanwhile, and module state "
        "or attributes may be changed by them. Left for manual review: anything else that "
        "looks like one of these calls, a call inside a generator expression or under a "
        "`with <lock>:`, a call between a read and a write of shared state (the same file, an "
        "attribute of self or cls, a module global) that no await separates (concurrent calls "
        "could interleave there), and projects whose requires-python allows Python < 3.9 (no "
        "asyncio.to_thread)."
    ),
    before=(
        "import pandas as pd\n"
        "\n"
        "\n"
        "async def export(path):\n"
        "    df = pd.read_csv(path)\n"
        '    return df.to_json(orient="records")\n'
    ),
    after=(
        "import asyncio\n"
        "\n"
        "import pandas as pd\n"
        "\n"
        "\n"
        "async def export(path):\n"
        "    df = await asyncio.to_thread(pd.read_csv, path)\n"
        '    return await asyncio.to_thread(df.to_json, orient="records")\n'
    ),
    local_fix=True,
    valid=("async def serialize(model):\n    return model.to_dict()\n",),
)


_ASYNCIO_TAKEN = "the name `asyncio` is bound to something else here"
_IN_GENEXP = "inside a generator expression an await would make it an async generator"
_UNDER_LOCK = "awaiting while a thread lock is held can deadlock the event loop"


class OffloadRule(SerializerBase):
    """AF104: CPU-heavy serialization -> await asyncio.to_thread(...)."""

    # -- AF104: to a worker thread --------------------------------------------------------

    def _pandas_receiver(self, node: cst.BaseExpression, function: cst.FunctionDef) -> str | None:
        """None when `node` is known to be a pandas object local to `function`; else why not."""
        text = cst.Module([]).code_for_node(node)
        if isinstance(node, cst.Call) and self._qualified(node) in PANDAS_MAKERS:
            return None
        unknown = (
            f"cannot tell that `{text}` is a pandas DataFrame or Series (known from an "
            "annotation, a pandas constructor or a pandas.read_* result)"
        )
        if not isinstance(node, cst.Name):
            return unknown
        assignments = self._local_assignments(node, function)
        if assignments is None:
            return (
                f"`{text}` is not a name local to this function: other tasks could change "
                "it while a worker thread works on it"
            )
        for assignment in assignments:
            if not self._makes_pandas(assignment.node):
                return unknown
        return None

    def _makes_pandas(self, target: cst.CSTNode) -> bool:
        if isinstance(target, cst.Param):
            annotation = target.annotation
            return annotation is not None and self._qualified(annotation.annotation) in PANDAS_TYPES
        parent = self._parent(target)
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return self._qualified(parent.annotation.annotation) in PANDAS_TYPES
        value = self._assigned_value(target)
        if isinstance(value, cst.Await) and isinstance(value.expression, cst.Call):
            # The result of our own rewrite: await asyncio.to_thread(pd.read_csv, ...)
            call = value.expression
            if self._qualified(call) == "asyncio.to_thread" and call.args and not call.args[0].star:
                return self._qualified(call.args[0].value) in PANDAS_MAKERS
        return isinstance(value, cst.Call) and self._qualified(value) in PANDAS_MAKERS

    def _local_file(self, arg: cst.Arg | None, function: cst.FunctionDef) -> str | None:
        """None when `arg` is a file opened with open() in `function`; else why not."""
        if arg is None or arg.star:
            return "the file argument is unusual"
        node = arg.value
        if isinstance(node, cst.Call) and self._qualified(node) == "builtins.open":
            return None
        text = cst.Module([]).code_for_node(node)
        reason = (
            f"cannot tell that `{text}` is a file opened here with open(): another task "
            "could use the same object while a worker thread does"
        )
        if not isinstance(node, cst.Name):
            return reason
        assignments = self._local_assignments(node, function)
        if assignments is None or not all(self._opens_file(a.node) for a in assignments):
            return reason
        return None

    def _opens_file(self, target: cst.CSTNode) -> bool:
        """Is `target` the name in `with open(...) as target:`?"""
        asname = self._parent(target)
        item = self._parent(asname) if isinstance(asname, cst.AsName) else None
        with_ = self._parent(item) if isinstance(item, cst.WithItem) else None
        return (
            isinstance(item, cst.WithItem)
            and isinstance(with_, cst.With)
            and with_.asynchronous is None
            and isinstance(item.item, cst.Call)
            and self._qualified(item.item) == "builtins.open"
        )

    def _local_payload(self, node: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """Local names and literals (in displays): nothing another task holds too."""
        if isinstance(node, cst.Name) and node.value not in ("True", "False", "None"):
            return self._local_assignments(node, function) is not None
        if isinstance(node, cst.List | cst.Tuple | cst.Set):
            return all(
                isinstance(e, cst.Element) and self._local_payload(e.value, function)
                for e in node.elements
            )
        if isinstance(node, cst.Dict):
            return all(
                isinstance(e, cst.DictElement)
                and self._local_payload(e.key, function)
                and self._local_payload(e.value, function)
                for e in node.elements
            )
        return only_str_keys(node)

    def _offload_target(
        self, call: cst.Call, name: str | None, function: cst.FunctionDef
    ) -> tuple[str, str | None] | None:
        """(what is called, why it is not rewritten) for an AF104 candidate, else None."""
        if name in PANDAS_READERS:
            return f"{name}()", None
        if name in JSON_FILE_IO:
            label = f"{name}() on a file"
            if name == "json.load":
                return label, self._local_file(argument(call, 0, "fp"), function)
            obj = argument(call, 0, "obj")
            if obj is None or obj.star or not self._local_payload(obj.value, function):
                return label, (
                    "the object to write is not a local name: other tasks could change it "
                    "while a worker thread serializes it"
                )
            return label, self._local_file(argument(call, 1, "fp"), function)
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in PANDAS_METHODS
            and self._imports_pandas
        ):
            return f"pandas {func.attr.value}()", self._pandas_receiver(func.value, function)
        return None

    def _leave_offload(
        self, original: cst.Call, updated: cst.Call, name: str | None
    ) -> cst.BaseExpression:
        found = self._on_loop(original)
        if found is None:
            return updated
        scope, where = found
        assert where.function is not None
        target = self._offload_target(original, name, where.function)
        if target is None:
            return updated
        label, reason = target
        message = f"{label} is CPU-heavy work on the event loop"
        asyncio = module_name_at(scope, "asyncio", "to_thread")
        python = missing(self.run.config, ASYNCIO_TO_THREAD, self.run.path)
        if reason is not None:
            pass
        elif where.in_generator_expression:
            reason = _IN_GENEXP
        elif inside_sync_lock(self._statements, where.function):
            reason = _UNDER_LOCK
        elif split := split_section(where.function, scope, original, module=self.run.original):
            reason = split
        elif python is not None:
            reason = python
        elif asyncio is None:
            reason = _ASYNCIO_TAKEN
        if reason is not None or asyncio is None:
            self.report(original, "AF104", message, reason=reason)
            return updated
        if not self.report(original, "AF104", message + "; use await asyncio.to_thread()"):
            return updated
        asyncio.add_import(self.context)
        parent = self._parent(original)
        return make_await(
            to_thread_call(asyncio, updated), as_primary=is_primary_operand(parent, original)
        )
