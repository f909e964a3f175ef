"""Issue 22, item 3: a new await must not split a critical section. The code is run for
real with many concurrent tasks: the rewrite asyncfix refuses would lose updates, and the
code it leaves keeps every one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from asyncfix.codemods.http_client import time_sleep
from asyncfix.codemods.serializer import offload
from asyncfix.config import parse_table
from asyncfix.driver import Pipeline
from asyncfix.files import SourceFile

TASKS = 40

FILE_STORE = (
    "import json\n"
    "\n"
    "PATH = None\n"
    "\n"
    "\n"
    "async def increment():\n"
    "    with open(PATH) as f:\n"
    "        data = json.load(f)\n"
    '    data["n"] = data.get("n", 0) + 1\n'
    '    with open(PATH, "w") as f:\n'
    "        json.dump(data, f)\n"
)

RATE_LIMITER = (
    "import time\n"
    "\n"
    "\n"
    "class Counter:\n"
    "    def __init__(self):\n"
    "        self.n = 0\n"
    "\n"
    "    async def increment(self):\n"
    "        seen = self.n\n"
    "        time.sleep(0.001)\n"
    "        self.n = seen + 1\n"
)


def rewrite(source: str, family: str) -> tuple[str, list[str]]:
    config = parse_table({"select": [family]}, None)
    outcome = Pipeline(config).process(SourceFile(Path("x.py"), "x.py"), source.encode())
    assert not outcome.errors, outcome.errors
    return (outcome.new or source.encode()).decode(), [f.format() for f in outcome.findings]


def unguarded(monkeypatch: pytest.MonkeyPatch, source: str, family: str) -> str:
    """What asyncfix would write without the check: the hazard the test measures."""
    for module in (offload, time_sleep):
        monkeypatch.setattr(module, "split_section", lambda *args, **kwargs: None)
    new, _ = rewrite(source, family)
    monkeypatch.undo()
    return new


def _load(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "x.py", "exec"), namespace)
    return namespace


def lost_file_updates(source: str, path: Path) -> int:
    path.write_text("{}")
    module = _load(source)
    module["PATH"] = str(path)

    async def main() -> None:
        # A call whose read met a half-written file fails: its update is lost too.
        await asyncio.gather(*(module["increment"]() for _ in range(TASKS)), return_exceptions=True)

    asyncio.run(main())
    try:
        count = json.loads(path.read_text()).get("n", 0)
    except json.JSONDecodeError:
        count = 0
    return TASKS - int(count)


def lost_attribute_updates(source: str) -> int:
    counter = _load(source)["Counter"]()

    async def main() -> None:
        await asyncio.gather(*(counter.increment() for _ in range(TASKS)))

    asyncio.run(main())
    return TASKS - int(counter.n)


def test_file_read_modify_write_is_not_offloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = unguarded(monkeypatch, FILE_STORE, "serializer")
    assert split.count("await asyncio.to_thread(json.") == 2
    assert lost_file_updates(split, tmp_path / "split.json") > 0

    new, findings = rewrite(FILE_STORE, "serializer")
    assert new == FILE_STORE
    assert len(findings) == 2
    assert all("concurrent calls could interleave" in f for f in findings)
    assert "the file `PATH`" in findings[0]
    assert lost_file_updates(new, tmp_path / "kept.json") == 0


def test_attribute_read_then_written_is_not_split_by_a_sleep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    split = unguarded(monkeypatch, RATE_LIMITER, "http_client")
    assert "await asyncio.sleep(0.001)" in split
    assert lost_attribute_updates(split) == TASKS - 1  # every task read 0

    new, findings = rewrite(RATE_LIMITER, "http_client")
    assert new == RATE_LIMITER
    assert findings == [
        "x.py:10:9: AF203 time.sleep() blocks the event loop inside async def [manual review: "
        "concurrent calls could interleave between the read and the write of `self.n`]"
    ]
    assert lost_attribute_updates(new) == 0


@pytest.mark.parametrize(
    "body",
    [
        # Written, then read: nothing read before the await is written after it.
        "    with open(p, 'w') as f:\n        json.dump(d, f)\n    with open(p) as f:\n"
        "        return json.load(f)\n",
        # Read only.
        "    with open(p) as f:\n        return json.load(f)\n",
        # An await already splits the read from the write.
        "    with open(p) as f:\n        d = json.load(f)\n    await g()\n"
        "    with open(p, 'w') as f:\n        json.dump(d, f)\n",
    ],
)
def test_offloads_that_split_nothing_are_made(body: str) -> None:
    source = f"import json\n\n\nasync def f(p, d, g):\n{body}"
    new, findings = rewrite(source, "serializer")
    assert new.count("await asyncio.to_thread(json.") == body.count("json.")
    assert not any("interleave" in f for f in findings)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("    x = self.n\n    time.sleep(1)\n    self.n = x\n", "`self.n`"),
        ("    c = self.items\n    time.sleep(1)\n    c.append(1)\n", "`self.items`"),
        ("    if k in CACHE:\n        return\n    time.sleep(1)\n    CACHE[k] = 1\n", "`CACHE`"),
        ("    global N\n    x = N\n    time.sleep(1)\n    N = x + 1\n", "`N`"),
        # The next iteration writes what this one read before the sleep.
        (
            "    for k in ks:\n        self.n = x\n        x = self.n + 1\n        time.sleep(1)\n",
            "`self.n`",
        ),
    ],
)
def test_shared_state_kinds(body: str, what: str) -> None:
    source = f"import time\n\nCACHE = {{}}\nN = 0\n\n\nasync def f(self, k, ks, x):\n{body}"
    new, findings = rewrite(source, "http_client")
    assert new == source
    assert len(findings) == 1 and what in findings[0] and "interleave" in findings[0]


@pytest.mark.parametrize(
    "body",
    [
        "    self.n += 1\n    time.sleep(1)\n",  # read and written before the await
        "    time.sleep(1)\n    self.n = self.n + 1\n",  # and after it
        "    x = LOCAL_CONST\n    time.sleep(1)\n    y = x\n",  # nothing written
        "    import os\n    x = os.getcwd()\n    time.sleep(1)\n    os.chdir(x)\n",  # a module
    ],
)
def test_no_shared_state_split(body: str) -> None:
    source = f"import time\n\nLOCAL_CONST = 1\n\n\nasync def f(self):\n{body}"
    new, findings = rewrite(source, "http_client")
    assert "await asyncio.sleep(1)" in new, findings


def test_a_file_opened_through_a_module_is_keyed_by_its_path() -> None:
    # io.open(PATH) reads the file that the offloaded json.dump then rewrites.
    body = (
        "    with open(PATH, 'w') as f:\n"
        "        json.dump(d, f)\n"
        "    with open('other.json', 'w') as g:\n"
        "        json.dump(d, g)\n"
    )
    head = "import io\nimport json\n\nimport aiofiles\n\nPATH = 'x.json'\n\n\nasync def f(d):\n"
    unsplit = head + "    with io.open(PATH) as src:\n        old = src.read()\n" + body
    new, findings = rewrite(unsplit, "serializer")
    assert new.count("await asyncio.to_thread(json.dump") == 1
    assert any("the file `PATH`" in f for f in findings)
    # aiofiles awaits between the read and the write already: both offloads are made.
    split = head + "    async with aiofiles.open(PATH) as src:\n        old = await src.read()\n"
    new, findings = rewrite(split + body, "serializer")
    assert new.count("await asyncio.to_thread(json.dump") == 2, findings
