"""libcst's matchers imported without their generated docstrings
(`asyncfix.codemods.speed.imports`): the same classes otherwise, and `dataclasses` left
as it was."""

from __future__ import annotations

import json
import subprocess
import sys

# What a matcher class is, but for its docstring: its fields, signature, repr and the
# methods dataclasses made.
_DESCRIBE = """
import dataclasses, inspect, json, sys
{imports}
import libcst.matchers as m
assert dataclasses.inspect is inspect
out = {{}}
for name in sorted(dir(m)):
    cls = getattr(m, name)
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        out[name] = [
            [(f.name, repr(f.type), repr(f.default)) for f in dataclasses.fields(cls)],
            str(inspect.signature(cls)),
            repr(cls()) if not any(p.default is p.empty
                                   for p in inspect.signature(cls).parameters.values())
            else "",
            sorted(k for k in vars(cls) if k != "__doc__"),
            cls.__doc__,
        ]
json.dump(out, sys.stdout)
"""


def _describe(imports: str) -> dict[str, list[object]]:
    code = _DESCRIBE.format(imports=imports)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    described: dict[str, list[object]] = json.loads(done.stdout)
    return described


def test_the_matchers_are_the_same_but_for_their_docstrings() -> None:
    plain = _describe("")
    quick = _describe(
        "from asyncfix.codemods.speed.imports import import_matchers\nimport_matchers()"
    )
    assert len(plain) > 100
    assert plain.keys() == quick.keys()
    for name, described in plain.items():
        assert described[:-1] == quick[name][:-1], name
        doc = described[-1]
        assert isinstance(doc, str)
        # Only the docstrings dataclasses wrote differ: the class's name alone now.
        if doc.startswith(f"{name}("):
            assert quick[name][-1] == name
        else:
            assert quick[name][-1] == doc


def test_the_registry_imports_the_matchers_that_way() -> None:
    code = (
        "from asyncfix.codemods import all_codemods\nall_codemods()\n"
        "import libcst.matchers as m\nprint(m.Call.__doc__)"
    )
    registry = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert registry.stdout.strip() == "Call"
