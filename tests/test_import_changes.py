"""libcst's import visitors, run for less: `imports_still_used` must say True only where
RemoveImportsVisitor would leave the module as it is, `imports_unused` name only imports
it would remove (KnownUnusedRemover then writing what it writes), and TopImportsAdder
must write what AddImportsVisitor writes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import isort
import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from asyncfix.codemods import base, runner
from asyncfix.codemods.base import visit_with_metadata
from asyncfix.codemods.helpers import (
    BlankKeepingImportsRemover,
    KnownUnusedRemover,
    TopImportsAdder,
    imports_still_used,
    imports_unused,
    sort_added_imports,
)
from asyncfix.config import Config
from asyncfix.driver import Pipeline
from asyncfix.files import SourceError, SourceFile
from asyncfix.parsing import cst_parse
from asyncfix.project import ImportSorter, import_sorter

TESTDATA = Path(__file__).parent.parent / "testdata"

Item = tuple[str, str | None, str | None]


def _libcst_removes(code: str, scheduled: list[Item], module: cst.Module | None = None) -> bool:
    context = CodemodContext(filename="case.py")
    for name, obj, asname in scheduled:
        RemoveImportsVisitor.remove_unused_import(context, name, obj, asname)
    module = module or cst.parse_module(code)
    return not visit_with_metadata(RemoveImportsVisitor(context), module).deep_equals(module)


@pytest.mark.parametrize(
    ("code", "scheduled", "used"),
    [
        ("import json\nx = json.dumps(1)\n", [("json", None, None)], True),
        ("import json\ndef f():\n    return json.loads('1')\n", [("json", None, None)], True),
        ("import json\n", [("json", None, None)], False),
        # The only read is of a parameter of the same name.
        ("import json\ndef f(json):\n    return json\n", [("json", None, None)], False),
        # A class body's own binding shadows the module's.
        ("import json\nclass A:\n    json = 1\n    x = json\n", [("json", None, None)], False),
        # A nested import is libcst's to judge.
        (
            "import json\nx = json\ndef f():\n    import json\n    return 1\n",
            [("json", None, None)],
            False,
        ),
        ("from time import sleep as nap\nnap(1)\n", [("time", "sleep", "nap")], True),
        ("from time import sleep\nsleep(1)\n", [("time", "sleep", None)], True),
        ("import requests as r\nr.get('u')\n", [("requests", None, "r")], True),
        # libcst weighs `os.path` and `os` each: not told here.
        ("import os.path\nos.path.join('a')\n", [("os.path", None, None)], False),
        # Exported, or read in a string annotation only: libcst keeps it, not told here.
        ("import json\n__all__ = ['json']\n", [("json", None, None)], False),
        ("import json\nx: 'json.JSONDecoder'\n", [("json", None, None)], False),
        # Imported in a def only (not bound at module level).
        ("def f():\n    import json\n    return json\n", [("json", None, None)], False),
        # Nothing binds it: nothing to remove.
        ("x = 1\n", [("json", None, None)], True),
        # Every item must be still used.
        (
            "import json, time\ntime.sleep(1)\n",
            [("time", None, None), ("json", None, None)],
            False,
        ),
        ("def f(:\n", [("json", None, None)], False),
    ],
)
def test_still_used(code: str, scheduled: list[Item], used: bool) -> None:
    assert imports_still_used(code, scheduled) is used
    if used:
        assert not _libcst_removes(code, scheduled)


def _imports(tree: ast.Module) -> list[Item]:
    found: list[Item] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, a.asname) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.module, a.name, a.asname) for a in node.names if a.name != "*"]
    return found


def test_never_says_used_where_libcst_removes_on_any_golden_input() -> None:
    # libcst judges each alias on its own (one scope analysis for all): the imports told
    # used are scheduled together, and none of them may go.
    told = files_with_removals = 0
    for path in sorted(TESTDATA.glob("*/*.input.py")):
        code = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(code)
            module = cst.parse_module(code)
        except (SyntaxError, cst.ParserSyntaxError):
            continue
        items = _imports(tree)
        used = [item for item in items if imports_still_used(code, [item])]
        if used:
            assert imports_still_used(code, used)
            assert not _libcst_removes(code, used, module), (path, used)
        told += len(used)
        if len(used) < len(items):
            files_with_removals += _libcst_removes(code, items, module)
    # Both answers are common in the test data: the comparison above means something.
    assert told > 200
    assert files_with_removals >= 2


def test_the_visitor_runs_only_where_an_import_may_go(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    visit = base.visit_with_metadata

    def spy(
        transformer: cst.CSTTransformer, module: cst.Module, run: base.FileRun | None = None
    ) -> cst.Module:
        ran.append(type(transformer).__name__)
        if isinstance(transformer, BlankKeepingImportsRemover):
            assert run is not None  # (its scopes from the run's wrapper of the tree)
        return visit(transformer, module, run)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "visit_with_metadata", spy)  # (where import changes run)
    pipeline = Pipeline(Config())
    # `time.sleep` is rewritten in both; only the first keeps a use of `time`.
    kept = b"import time\n\n\nasync def f():\n    time.sleep(1)\n    return time.time()\n"
    gone = b"import time\n\n\nasync def f():\n    time.sleep(1)\n"
    for data, runs in ((kept, 0), (gone, 1)):
        ran.clear()
        outcome = pipeline.rewrite_file(SourceFile(Path("m.py"), "m.py"), data, None, None)
        assert outcome.new is not None and b"await asyncio.sleep(1)" in outcome.new
        assert (b"import time\n" in outcome.new) is (runs == 0)
        # (the run on the output, to check idempotence, schedules nothing; `time` is
        # spelt by its import alone, so no scope analysis tells it unused)
        assert ran.count("KnownUnusedRemover") == runs
        assert "BlankKeepingImportsRemover" not in ran


def _removed(code: str, scheduled: list[Item], known: frozenset[str] | None) -> str:
    """The code after the removal of `scheduled`: libcst's way (None), or told `known`."""
    context = CodemodContext(filename="case.py")
    for name, obj, asname in scheduled:
        RemoveImportsVisitor.remove_unused_import(context, name, obj, asname)
    remover = (
        BlankKeepingImportsRemover(context) if known is None else KnownUnusedRemover(context, known)
    )
    return visit_with_metadata(remover, cst.parse_module(code)).code


@pytest.mark.parametrize(
    ("code", "scheduled", "told"),
    [
        ("import json\nx = 1\n", [("json", None, None)], True),
        ("import json\nx = json.dumps(1)\n", [("json", None, None)], False),
        ("import json, time\ntime.sleep(1)\n", [("json", None, None)], True),
        ("from time import sleep as nap\n", [("time", "sleep", "nap")], True),
        ("from time import sleep, time\nx = time()\n", [("time", "sleep", None)], True),
        ("import requests as r\n", [("requests", None, "r")], True),
        ("def f():\n    import json\n    return 1\n", [("json", None, None)], True),
        # Spelt again (a second import, a use, a comment, a longer name counts not).
        ("import json\nimport json\n", [("json", None, None)], False),
        ("import json\n# json\n", [("json", None, None)], False),
        ("import json\njson_x = 1\n", [("json", None, None)], True),
        # In a string: exported, an annotation, or only text; spelt by an escape or
        # by an implicit concatenation, which the code does not spell.
        ("import json\n__all__ = ['json']\n", [("json", None, None)], False),
        ("import json\nx: 'json.JSONDecoder'\n", [("json", None, None)], False),
        ("import json\n__all__ = ['js' 'on']\n", [("json", None, None)], False),
        ("import json\n__all__ = ['\\x6ason']\n", [("json", None, None)], False),
        ("import json\nx: 'js' 'on'\n", [("json", None, None)], False),
        ("import json\nx = b'json'\n", [("json", None, None)], False),
        # Not told: a dotted import, a source Python cannot parse.
        ("import os.path\n", [("os.path", None, None)], False),
        ("import json\nexcept A, B: pass\n", [("json", None, None)], False),
        # Newer syntax, read lowered where that keeps every string: `except A, B:`
        # (3.14) does; a type parameter (3.12) blanked with its string bound does not.
        ("import json\ntry:\n    pass\nexcept A, B:\n    x = 'a'\n", [("json", None, None)], True),
        ("import json\ndef f[T: '\\x6ason'](): pass\n", [("json", None, None)], False),
        ("import json\ndef f[T: int](): 'x'\n", [("json", None, None)], True),
        # libcst's gatherer leaves `__future__`, star and relative imports be.
        ("from __future__ import annotations\n", [("__future__", "annotations", None)], True),
        ("from . import json\n", [("", "json", None)], True),
        ("from json import *\n", [("json", None, None)], True),
    ],
)
def test_unused_is_told_as_libcst_tells_it(code: str, scheduled: list[Item], told: bool) -> None:
    known = imports_unused(code, scheduled)
    assert (known is not None) is told
    if known is not None:
        assert _removed(code, scheduled, known) == _removed(code, scheduled, None)


def _spelt_by_imports_only(code: str, tree: ast.Module, names: set[str]) -> str:
    """`code` with `names` renamed outside its import statements' lines: imports a
    rewrite left unused, in the layout of a real module."""
    lines = {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    spelt = re.compile(rf"(?<!\w)({'|'.join(map(re.escape, sorted(names)))})(?!\w)")
    return "".join(
        line if number in lines else spelt.sub(r"\1_renamed", line)
        for number, line in enumerate(code.splitlines(keepends=True), 1)
    )


def test_told_unused_removes_what_libcst_removes_on_any_golden_input() -> None:
    told = changed = 0
    for path in sorted(TESTDATA.glob("*/*.input.py")):
        original = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(original)
        except SyntaxError:
            continue
        items = [item for item in _imports(tree) if item[1] or item[2] or "." not in item[0]]
        if not items:
            continue
        code = _spelt_by_imports_only(original, tree, {i[2] or i[1] or i[0] for i in items})
        known = imports_unused(code, items)
        if known is None:
            continue
        try:
            expected = _removed(code, items, None)
        except cst.ParserSyntaxError:
            continue
        told += 1
        assert _removed(code, items, known) == expected, path
        changed += expected != code
    # (nearly every golden input imports something: the comparison means something)
    assert told > 150
    assert changed > 150


# What the codemods add: plain, from-, and aliased imports.
ADDED = [
    ("asyncio", None, None),
    ("orjson", None, None),
    ("contextlib", "asynccontextmanager", None),
    ("fastapi", "Request", None),
    ("json", "dumps", "to_json"),
]


def _added(visitor: type[AddImportsVisitor], module: cst.Module) -> str:
    context = CodemodContext(filename="case.py")
    for name, obj, asname in ADDED:
        AddImportsVisitor.add_needed_import(context, name, obj, asname)
    return visit_with_metadata(visitor(context), module).code


def test_top_imports_adder_writes_what_libcst_writes_on_every_golden_input() -> None:
    compared = 0
    for path in sorted(TESTDATA.glob("*/*.input.py")):
        try:
            module, _ = cst_parse(path.read_bytes())  # as the driver parses (form feeds)
        except SourceError:
            continue
        assert _added(TopImportsAdder, module) == _added(AddImportsVisitor, module), path
        compared += 1
    assert compared > 150


@pytest.mark.parametrize(
    "code",
    [
        '"""doc"""\nimport os\nfrom fastapi import FastAPI\nx = 1\nimport sys\n',
        "from __future__ import annotations\nfrom contextlib import suppress\ndef f(): pass\n",
        "x = 1\nimport asyncio\n",
        "import os; import sys\nfrom json import loads\n",
        "if True:\n    import orjson\nfrom fastapi import Request as R\n",
        "",
    ],
)
def test_top_imports_adder_on_odd_tops(code: str) -> None:
    module = cst.parse_module(code)
    assert _added(TopImportsAdder, module) == _added(AddImportsVisitor, module)


def test_top_imports_adder_does_not_enter_what_follows_the_imports() -> None:
    entered: list[str] = []

    class Spy(TopImportsAdder):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            entered.append(node.name.value)

    code = "import os\ndef first(): pass\ndef second(): pass\n"
    _added(Spy, cst.parse_module(code))
    assert entered == ["first"]  # the statement that ends the imports, no further


# -- where added imports go, what a removal leaves -----------------------------------------


def _placed(code: str, added: list[Item], sorter: ImportSorter) -> str:
    module = cst.parse_module(code)
    context = CodemodContext(filename="case.py")
    for name, obj, asname in added:
        AddImportsVisitor.add_needed_import(context, name, obj, asname)
    return sort_added_imports(
        module, visit_with_metadata(TopImportsAdder(context), module), sorter
    ).code


UNCONFIGURED = ImportSorter("", isort.Config())
BLACK = ImportSorter("isort", isort.Config(profile="black", known_first_party=["app"]))


@pytest.mark.parametrize(
    ("code", "added", "sorter", "expected"),
    [
        # A sorted block: the sorter's own output (a new group between two others).
        (
            '"""Doc."""\n\nfrom __future__ import annotations\n\nimport os\n\nfrom app import x\n',
            [("httpx", None, None), ("asyncio", None, None)],
            BLACK,
            '"""Doc."""\n\nfrom __future__ import annotations\n\nimport asyncio\nimport os\n\n'
            "import httpx\n\nfrom app import x\n",
        ),
        # Names added to a from-import: in the sorter's order.
        (
            "from aiohttp import TCPConnector\n",
            [("aiohttp", "ClientSession", None)],
            BLACK,
            "from aiohttp import ClientSession, TCPConnector\n",
        ),
        # An unsorted block (the sorter would move `import b`): only the new line moves in.
        (
            "import sys\nimport os\n\nimport requests\n\nfrom . import app\n",
            [("asyncio", None, None), ("orjson", None, None)],
            BLACK,
            "import asyncio\nimport sys\nimport os\n\nimport orjson\nimport requests\n\n"
            "from . import app\n",
        ),
        # No sorter: the new line goes into its group, the rest stays as written.
        (
            "import os\nfrom fastapi import (\n    FastAPI,\n    Depends,\n)\nfrom . import db\n",
            [("fastapi", "Request", None), ("asyncio", None, None)],
            UNCONFIGURED,
            "import asyncio\nimport os\nfrom fastapi import (\n    Depends,\n    FastAPI,\n"
            "    Request,\n)\nfrom . import db\n",
        ),
        # A stdlib group where there was none: its own group, first, below the docstring.
        (
            '"""Doc."""\n\nimport httpx\n',
            [("contextlib", "asynccontextmanager", None)],
            UNCONFIGURED,
            '"""Doc."""\n\nfrom contextlib import asynccontextmanager\n\nimport httpx\n',
        ),
        # A comment above the block keeps its place.
        (
            "# Third party.\nimport httpx\n",
            [("orjson", None, None)],
            BLACK,
            "# Third party.\nimport httpx\nimport orjson\n",
        ),
    ],
)
def test_added_imports_go_where_the_sorter_puts_them(
    code: str, added: list[Item], sorter: ImportSorter, expected: str
) -> None:
    assert _placed(code, added, sorter) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('"""Doc."""\n\nimport json\nimport os\n\nx = os\n', '"""Doc."""\n\nimport os\n\nx = os\n'),
        (
            "from __future__ import annotations\n\nimport json\nimport os\nx = os\n",
            "from __future__ import annotations\n\nimport os\nx = os\n",
        ),
        ("import json\n\nimport os\nx = os\n", "import os\nx = os\n"),
        ("import os\nimport json\n\nimport httpx\nx = os, httpx\n", None),
        ("# Header.\n\nimport json\n\nimport os\nx = os\n", "# Header.\n\nimport os\nx = os\n"),
    ],
)
def test_a_removed_import_takes_no_blank_line_with_it(code: str, expected: str | None) -> None:
    context = CodemodContext(filename="case.py")
    RemoveImportsVisitor.remove_unused_import(context, "json")
    module = visit_with_metadata(BlankKeepingImportsRemover(context), cst.parse_module(code))
    assert module.code == (expected or code.replace("import json\n", ""))


def test_ruff_isort_options_isort_shares_are_followed(tmp_path: Path) -> None:
    # `lines-between-types` (a blank line between `import x` and `from x import`): without
    # it the added import sat against the from-import and ruff's I001 failed after.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff.lint]\nselect = ["I"]\n[tool.ruff.lint.isort]\nlines-between-types = 1\n'
    )
    code = "from typing import Any\n\nfrom fastapi import APIRouter\n"
    expected = "from typing import Any\n\nimport orjson\n\nfrom fastapi import APIRouter\n"
    assert _placed(code, [("orjson", None, None)], import_sorter(tmp_path)) == expected
