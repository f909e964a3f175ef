"""Generate asyncfix/codemods/manifest.py from the codemod classes (see catalog.py), and
asyncfix/codemods/speed/orders.py from libcst's source (see speed/traversal.py).

    .venv/bin/python -m asyncfix.codemods.catalog_build

tests/test_manifest.py and tests/test_traversal.py fail, naming this command, when either
is stale. Imports
every codemod (and libcst): run it, never import it on a run's path.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from asyncfix.codemods import all_codemods
from asyncfix.codemods.catalog import Entry
from asyncfix.profiles import profile_rules

if TYPE_CHECKING:
    from asyncfix.codemods.base import AsyncfixCodemod

OUT = Path(__file__).resolve().parent / "manifest.py"
COMMAND = ".venv/bin/python -m asyncfix.codemods.catalog_build"


def _lifespan_tokens() -> tuple[bytes, ...]:
    from asyncfix.codemods.shared.app_events import PLAN_TOKENS

    return tuple(PLAN_TOKENS)


# Each planner's gate: its plan names no file unless some file of the project holds one
# of these tokens. Read off each plan's code; the reason is where its entries come from.
# tests/test_manifest.py checks them on every golden project. A new planner needs one,
# else the manifest cannot skip its plan (and no run skips the registry).
PLAN_GATES: dict[str, tuple[bytes, ...]] = {
    # plan_blocking_calls: sites are calls in the async defs of index.modules(b"async").
    "blocking-calls": (b"async",),
    # plan_requests: every entry is a module of index.modules(b"FastAPI") or of
    # index.modules(b"requests") (`requesting`, the routers, the imported client).
    "requests-to-async": (b"FastAPI", b"requests"),
    # project_plan: entries only for consumers, index.naming(heads, b"async").
    "forgotten-await": (b"async",),
    # imported_factories: nothing without a module holding b"essionmaker".
    "db-session": (b"essionmaker",),
    # sync_def_plan: `imported` (modules holding b"async"), `providers` (modules holding
    # Depends or Security), `dependencies` and `used` (modules with an async def).
    "db-sync-session-in-async": (b"async", b"Depends", b"Security"),
    # Planner.targets: the async defs of index.modules(b"async def"); no target, no entry.
    "async-without-await": (b"async def",),
    # PoolLimits.plan checks the options and returns None.
    "lifespan-pool-limits": (),
}
# The lifespan family's plan (compute_plan): every entry starts from a module of
# index.modules(*PLAN_TOKENS).
_LIFESPAN_FAMILY_PLAN = "lifespan"


class ManifestError(Exception):
    """The classes say something the manifest cannot (see the message)."""


def _overrides(codemod: type[AsyncfixCodemod], method: str) -> bool:
    from asyncfix.pipeline import overrides

    return overrides(codemod, method)


def _any_of(codemod: type[AsyncfixCodemod]) -> tuple[bytes, ...]:
    declared: tuple[bytes, ...] = getattr(codemod, "TRIGGERS_ANY", ())
    if not _overrides(codemod, "may_match"):
        return declared
    any_of = declared
    if not any_of:
        raise ManifestError(
            f"{codemod.NAME} overrides may_match: say its byte rule as data (TRIGGERS_ANY) "
            "so that a run can ask it without importing it"
        )
    tokens = (*codemod.TRIGGERS, *any_of)
    for size in range(len(tokens) + 1):
        for held in itertools.combinations(tokens, size):
            data = b" ".join(held)
            expected = all(t in data for t in codemod.TRIGGERS) and any(t in data for t in any_of)
            if codemod.may_match(data) != expected:
                raise ManifestError(f"{codemod.NAME}: may_match({data!r}) is not its byte rule")
    return any_of


def _plan_gate(codemod: type[AsyncfixCodemod]) -> tuple[bytes, ...] | None:
    declared: tuple[bytes, ...] | None = getattr(codemod, "PLAN_GATE", None)
    if declared is not None:  # (said beside the plan, once base.py has the attribute)
        return tuple(declared)
    if codemod.NAME in PLAN_GATES:
        return PLAN_GATES[codemod.NAME]
    if codemod.FAMILY == _LIFESPAN_FAMILY_PLAN:
        from asyncfix.codemods.lifespan.family import LifespanCodemod

        if codemod.plan.__func__ is LifespanCodemod.plan.__func__:  # type: ignore[attr-defined]
            return _lifespan_tokens()
    return None


def _sorted(tokens: tuple[bytes, ...] | None) -> tuple[bytes, ...] | None:
    return None if tokens is None else tuple(sorted(tokens))


def _screen(codemod: type[AsyncfixCodemod]) -> str | None:
    """Its SCREEN as "module:function", when the prescreen is that function and importing
    its module (with its packages) imports no libcst."""
    from asyncfix.codemods.base import AsyncfixCodemod

    screen = codemod.SCREEN
    if screen is None or _overrides_prescreen(codemod, AsyncfixCodemod):
        return None
    return _without_libcst(screen)


def _planner(codemod: type[AsyncfixCodemod]) -> str | None:
    """Its PLANNER as "module:function", when the plan is that function (the class does
    not override `plan`) and importing its module imports no libcst."""
    if codemod.PLANNER is None or _overrides(codemod, "plan"):
        return None
    return _without_libcst(codemod.PLANNER)


def _without_libcst(function: Callable[..., object]) -> str | None:
    """ "module:function" of `function`, when importing its module (with its packages)
    imports no libcst (probed in a fresh interpreter)."""
    where = f"{function.__module__}:{function.__qualname__}"
    probe = (
        "import importlib, sys; "
        f"importlib.import_module({function.__module__!r}); "
        "sys.exit(any(m == 'libcst' or m.startswith('libcst.') for m in sys.modules))"
    )
    clean = subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0
    return where if clean else None


def _overrides_prescreen(codemod: type[AsyncfixCodemod], base: type[AsyncfixCodemod]) -> bool:
    return any("prescreen" in vars(k) for k in codemod.__mro__ if k is not base)


def entry_of(codemod: type[AsyncfixCodemod]) -> Entry:
    from asyncfix.pipeline import plans as planning

    plans = planning(codemod)
    return Entry(
        name=codemod.NAME,
        family=codemod.FAMILY,
        codes=codemod.codes(),
        after=tuple(codemod.AFTER),
        triggers=tuple(codemod.TRIGGERS),
        any_of=_any_of(codemod),
        in_tests=codemod.IN_TESTS,
        indexes=tuple(sorted(codemod.INDEXES)),  # (some are built from a set)
        plan_cost=codemod.PLAN_COST,
        plans=plans,
        plan_gate=_sorted(_plan_gate(codemod)) if plans else (),
        plan_reach=_sorted(codemod.PLAN_REACH) if plans else (),
        checks_config=_overrides(codemod, "check_config"),
        screen=_screen(codemod),
        planner=_planner(codemod),
    )


def render() -> str:
    """The whole of manifest.py."""
    lines = [
        f'"""Generated by `{COMMAND}`',
        "from the codemod classes; do not edit.",
        "",
        "The registry's codemods in their order, as data (see catalog.py).",
        '"""',
        "",
        "from asyncfix.codemods.catalog import Entry",
        "",
        "CODEMODS: tuple[Entry, ...] = (",
    ]
    for codemod in all_codemods():
        entry = entry_of(codemod)
        lines.append("    Entry(")
        for field in fields(entry):
            lines.append(_field(field.name, getattr(entry, field.name)))
        lines.append("    ),")
    lines.append(")")
    lines += ["", "# The rules reported from outside the pipeline: code, family, name."]
    lines.append("OUTSIDE: tuple[tuple[str, str, str], ...] = (")
    for code, (holder, _) in sorted(profile_rules().items()):
        lines.append(f"    ({_literal(code)}, {_literal(holder.FAMILY)}, {_literal(holder.NAME)}),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _literal(value: object) -> str:
    """`value` as ruff formats it: double quotes (the manifest's strings hold none)."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bytes):
        return f'b"{value.decode("ascii")}"'
    return repr(value)


def _field(name: str, value: object, width: int = 100) -> str:
    """`        name=value,`, a tuple one item a line when it does not fit in `width`."""
    if not isinstance(value, tuple):
        return f"        {name}={_literal(value)},"
    items = [_literal(v) for v in value]
    inline = f"        {name}=({', '.join(items)}{',' if len(items) == 1 else ''}),"
    if len(inline) <= width:
        return inline
    return "\n".join([f"        {name}=(", *(f"            {i}," for i in items), "        ),"])


def main() -> int:
    from asyncfix.codemods.speed import traversal

    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    orders = Path(traversal.__file__).resolve().parent / "orders.py"
    orders.write_text(traversal.orders_module(), encoding="utf-8")
    print(f"wrote {orders}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
