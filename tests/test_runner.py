"""codemods/runner.py: the one way to run codemods on a parsed module."""

from __future__ import annotations

import libcst as cst

from asyncfix.codemods import all_codemods, resolve_selection
from asyncfix.codemods.runner import file_run, run_codemods
from asyncfix.config import Config

SOURCE = b"import time\n\n\nasync def f():\n    time.sleep(1)\n"


def _run(select: tuple[str, ...], *, imports: bool = True) -> tuple[str, list[str]]:
    module = cst.parse_module(SOURCE)
    config = Config()
    run = file_run(module, "m.py", config, resolve_selection(select, ()), source=SOURCE)
    result = run_codemods(all_codemods(), module, run, imports=imports).result
    assert result is not None and run.result is result
    return result.code, [f.code for f in run.findings]


def test_runs_the_enabled_codemods_and_makes_their_import_changes() -> None:
    code, codes = _run(("AF203",))
    assert codes == ["AF203"]
    assert "await asyncio.sleep(1)" in code
    assert "import asyncio" in code and "import time" not in code
    compile(code, "m.py", "exec")


def test_a_dry_run_leaves_the_imports_alone() -> None:
    code, codes = _run(("AF203",), imports=False)
    assert codes == ["AF203"]
    assert "await asyncio.sleep(1)" in code
    assert "import asyncio" not in code and "import time\n" in code


def test_codemods_whose_rules_are_not_selected_do_not_run() -> None:
    code, codes = _run(("AF601",))
    assert codes == [] and code == SOURCE.decode()
