"""What the awaits family's modules share: names of asyncio and FastAPI, and the table's
class names and items. The libcst transform and the stdlib-ast screen both read these
(and `asyncfix.data.coroutines`); it imports no libcst."""

from __future__ import annotations

import ast

from asyncfix.data import coroutines as table

FORGOTTEN_AWAIT = "forgotten-await"  # the family's codemod, the key of its plan

# Decorators that return the function they decorate (FastAPI's route decorators do too).
KEEPS_FUNCTION = frozenset(
    {
        "staticmethod",
        "classmethod",
        "abc.abstractmethod",
        "typing.override",
        "typing_extensions.override",
    }
)
# A method under these is not bound to an instance: its first parameter is no `self`.
UNBOUND = frozenset({"staticmethod", "classmethod"})
# Attributes of the coroutine object itself: using them is not using the result.
_COROUTINE_ATTRS = frozenset({"close", "send", "throw", "__await__"})
TASK_FACTORIES = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
LOOP_TASK_FACTORY = "create_task"  # `loop.create_task(...)`, on an event loop (LOOP_CLASS)
# beanie: `Model.find(..., projection_model=Other)` gives Other's instances, not Model's.
PROJECTION = "projection_model"
LOOPS = frozenset({"asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.new_event_loop"})


def strip_annotation(node: ast.expr) -> ast.expr:
    """`Annotated[T, ...]`, `Optional[T]`, `T | None`, `AsyncIterator[T]` ... -> T."""
    while True:
        if isinstance(node, ast.Subscript):
            head = node.value.attr if isinstance(node.value, ast.Attribute) else None
            head = head or (node.value.id if isinstance(node.value, ast.Name) else "")
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head in _WRAPPERS and args:
                node = args[0]
                continue
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.BitOr)
            and isinstance(node.right, ast.Constant)
            and node.right.value is None
        ):
            node = node.left
            continue
        return node


_WRAPPERS = frozenset(
    {
        "Annotated",
        "Optional",
        "AsyncIterator",
        "AsyncGenerator",
        "Iterator",
        "Generator",
        "AsyncIterable",
        "Iterable",
        "Awaitable",
        "Coroutine",
    }
)


def canonical(name: str) -> str:
    return table.ALIASES.get(name, name)


def root_of(name: str) -> str:
    return name.split(".", 1)[0]


def last_part(name: str) -> str:
    return name.removesuffix("()").rsplit(".", 1)[-1]


def item_class(owner: str | None, attr: str | None) -> str | None:
    """The class of `owner_instance.attr` (`attr` None: `owner_instance[key]`) where the
    library's __getattr__/__getitem__ gives an item (a Motor database, a collection);
    None where `attr` is one of the class's own attributes, or the owner has no items."""
    if owner is None or owner not in table.ITEMS:
        return None
    if attr is not None and (attr.startswith("_") or attr in _MEMBERS[owner]):
        return None
    return table.ITEMS[owner]


_MEMBERS = {name: frozenset(members) for name, members in table.MEMBERS.items()}


LOOP_CLASS = "asyncio.AbstractEventLoop"
DEPENDS = frozenset({"fastapi.Depends", "fastapi.params.Depends"})


def result_attribute(attr: str) -> bool:
    """Is `coroutine.attr` a use of the result (see `_used_as_result`)?"""
    return attr not in _COROUTINE_ATTRS and not attr.startswith("cr_")
