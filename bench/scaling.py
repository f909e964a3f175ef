"""Is asyncfix's time linear in the size of one file? (issue 25, issue 20 item 5)

    python bench/scaling.py [--sizes 50,400,5000] [--command apply|check] [--profile KB]
                            [--keep DIR] [--max-file-size BYTES]

For each size (KB), a FastAPI module of about that size is generated: blocks of routes,
helpers, globals and classes repeated with fresh names, each block holding the call sites
the codemods act on (`requests.get`, `time.sleep`, `json.loads`, a forgotten await, an
`async def` with no await, an import-time client) and some they refuse. Each module is
put alone in a temporary project, and `asyncfix <command> --no-cache -j 1` (apply runs
with `--dry-run`) runs on it as a child process; the script reports its wall time, its
CPU time (user + system, of the process and its children: on a shared machine the wall
time says more about the other load than about asyncfix), the CPU time per 1,000 lines,
that ratio against the smallest size, and the peak RSS of the process tree (sampled from
/proc every 20 ms).

The issue's targets: time per line on a 5 MB module within 1.5x of a 50 KB one; peak
memory for 5 MB under 1 GB. A module over max-file-size (400 KiB by default) is indexed
for the plans but not parsed with libcst: the run reports it as an error, and its time
and memory are those of that bound; `--max-file-size 0` measures the whole rewrite.
`--profile KB` runs the pipeline in-process on one module of that size under cProfile
and prints the top functions by cumulative and own time. `--parts KB` runs it in-process
too and prints each part's CPU time (the plans, the parse, each codemod's transform, the
import changes, the codegen, the verifying second run and its parts, the diff) and the
resident memory after it.
Run by hand: no test depends on it.
"""

from __future__ import annotations

import argparse
import cProfile
import difflib
import io
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

HEADER = '''"""A generated FastAPI service module (bench/scaling.py)."""

import asyncio
import json
import time

import requests
from fastapi import FastAPI

app = FastAPI()
TIMEOUT = 10


@app.on_event("startup")
async def startup():
    app.state.ready = True

'''

BLOCK = '''
SETTINGS_{i} = {{"retries": {i} % 5, "name": "svc-{i}", "timeout": TIMEOUT}}
ENDPOINT_{i} = "http://upstream-{i}.internal/api"
pool_{i} = requests.Session()


class Record{i}:
    """A record of service {i}."""

    def __init__(self, key, value):
        self.key = key
        self.value = value

    def to_json(self):
        return json.dumps({{"key": self.key, "value": self.value}})


async def fetch_{i}(item_id: int):
    return {{"id": item_id, "service": {i}}}


async def compute_{i}(x):
    return x * {i} + 1


@app.get("/items/{i}/{{item_id}}")
async def get_item_{i}(item_id: int):
    r = requests.get(f"{{ENDPOINT_{i}}}/items/{{item_id}}", timeout=TIMEOUT)
    time.sleep(0.01)
    data = json.loads(r.text)
    extra = await fetch_{i}(item_id)
    return {{"data": data, "extra": extra}}


@app.post("/items/{i}")
async def post_item_{i}(payload: dict):
    body = json.dumps(payload)
    r = requests.post(ENDPOINT_{i}, data=body, timeout=TIMEOUT)
    if r.status_code != 200:
        for attempt in range(SETTINGS_{i}["retries"]):
            time.sleep(0.1 * attempt)
            r = requests.post(ENDPOINT_{i}, data=body, timeout=TIMEOUT)
    return {{"ok": r.ok}}


@app.get("/compute/{i}")
async def compute_route_{i}(x: int):
    value = compute_{i}(x)
    total = sum([x, {i}])
    return {{"value": await value, "total": total}}


def sync_helper_{i}(values):
    time.sleep(0.001)
    return [v + {i} for v in values if v % 2]


async def no_await_{i}(values):
    return sorted(values)[:{i} % 7 + 1]
'''


def generate(kilobytes: int) -> str:
    """A module of about `kilobytes` KB: the header, then blocks until it is that big."""
    parts = [HEADER]
    size, i = len(HEADER), 0
    while size < kilobytes * 1024:
        block = BLOCK.format(i=i)
        parts.append(block)
        size += len(block)
        i += 1
    return "".join(parts)


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its descendants, in KB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        todo += [int(c) for c in children.split()]
    return total


def measure(path: Path, command: str) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS MB, exit code, last line of output) of one
    asyncfix run."""
    args = [sys.executable, "-m", "asyncfix", command, "--no-cache", "-j", "1"]
    if command == "apply":
        args.append("--dry-run")
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(
        [*args, path.name],
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, _tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done.set()
    sampler.join()
    lines = output.decode(errors="replace").strip().splitlines()
    return seconds, cpu, peak / 1024, process.returncode, lines[-1] if lines else ""


def profile(path: Path, command: str) -> None:
    sys.path.insert(0, str(REPO))
    from asyncfix import driver
    from asyncfix.config import load_config
    from asyncfix.driver import run

    # In this process: a module over IN_PROCESS_BYTES goes to a worker, out of the profile.
    driver.IN_PROCESS_BYTES = len(path.read_bytes()) + 1
    config = load_config(path.parent / "pyproject.toml")
    profiler = cProfile.Profile()
    profiler.enable()
    result = run([path], config, jobs=1)
    profiler.disable()
    print(f"{len(result.findings)} findings, {result.summary.errors} errors")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())


def _rss_mb() -> tuple[int, int]:
    """(resident, peak resident) memory of this process, in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def parts(path: Path) -> None:
    sys.path.insert(0, str(REPO))
    from asyncfix import driver, pipeline
    from asyncfix.codemods import all_codemods, runner
    from asyncfix.config import load_config

    driver.IN_PROCESS_BYTES = len(path.read_bytes()) + 1  # (see profile)
    rows: list[tuple[str, float, int, int]] = []
    stage = [""]

    def timed(function: Any, name: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                rows.append((stage[0] + name, time.process_time() - started, *_rss_mb()))

        return wrapper

    def verify(self: Any, *args: Any, **kwargs: Any) -> Any:
        stage[0] = "  verify: "
        try:
            return verifying(self, *args, **kwargs)
        finally:
            stage[0] = ""

    for codemod in all_codemods():
        codemod.transform = timed(codemod.transform, codemod.NAME)  # type: ignore[method-assign]
    # (names these modules import: replaced where they are looked up)
    for module, name, label in (
        (driver, "plan_apart", "plans"),
        (pipeline, "cst_parse", "libcst parse"),
        (pipeline, "code_of", "codegen"),
    ):
        setattr(module, name, timed(getattr(module, name), label))
    runner._change_imports = timed(runner._change_imports, "import changes")
    verifying = pipeline.Pipeline.verify
    pipeline.Pipeline.verify = timed(verify, "verifying run, in all")  # type: ignore[method-assign]
    config = load_config(path.parent / "pyproject.toml")
    started = time.process_time()
    result = driver.run([path], config, jobs=1)
    total = time.process_time() - started
    outcome = result.outcomes[0]
    if outcome.new is not None and outcome.original is not None:
        old, new = outcome.original.decode(), outcome.new.decode()
        timed(
            lambda: "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True))),
            "diff",
        )()
    lines = path.read_bytes().count(b"\n")
    print(f"{path.name}: {lines} lines, {total:.2f} s CPU, {len(result.findings)} findings")
    print(f"{'part':<40} {'CPU s':>7} {'RSS MB':>7} {'peak MB':>8}")
    for name, seconds, resident, peak in rows:
        print(f"{name:<40} {seconds:>7.2f} {resident:>7} {peak:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,400,1000,5000", help="KB, comma-separated")
    parser.add_argument("--command", choices=("apply", "check"), default="apply")
    parser.add_argument("--profile", type=int, metavar="KB", help="profile one size instead")
    parser.add_argument("--parts", type=int, metavar="KB", help="time each part of one size")
    parser.add_argument("--keep", type=Path, help="write the generated modules here")
    parser.add_argument(
        "--max-file-size",
        type=int,
        help="[tool.asyncfix] max-file-size for the run (default: asyncfix's; 0: no limit)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asyncfix-scaling-") as scratch:
        where = args.keep or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        table = "" if args.max_file_size is None else f"max-file-size = {args.max_file_size}\n"
        (where / "pyproject.toml").write_text(
            f'[project]\nname = "scaling"\n\n[tool.asyncfix]\n{table}'
        )
        if args.profile:
            path = where / f"service_{args.profile}kb.py"
            path.write_text(generate(args.profile))
            profile(path, args.command)
            return 0
        if args.parts:
            path = where / f"service_{args.parts}kb.py"
            path.write_text(generate(args.parts))
            parts(path)
            return 0
        print(
            f"{'KB':>6} {'lines':>8} {'wall s':>8} {'CPU s':>8} {'CPU ms/1k lines':>16} "
            f"{'ratio':>6} {'peak MB':>8} exit  last line"
        )
        base = None
        for kb in (int(s) for s in args.sizes.split(",")):
            text = generate(kb)
            path = where / f"service_{kb}kb.py"
            path.write_text(text)
            lines = text.count("\n")
            seconds, cpu, peak, code, last = measure(path, args.command)
            per = cpu * 1000 / (lines / 1000)
            base = base or per
            print(
                f"{kb:>6} {lines:>8} {seconds:>8.1f} {cpu:>8.1f} {per:>16.1f} "
                f"{per / base:>6.2f} {peak:>8.0f} {code:>4}  {last[:60]}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
