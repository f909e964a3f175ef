"""The tool's own speed: asyncfix beside ruff and a bare libcst round trip, on one tree.

    python bench/throughput.py TREE [--jobs N] [--async-only] [--json FILE] [--profile]

TREE is copied first (only its .py files; `site-packages` skipped) into a temporary
directory, and everything runs on the copy: TREE itself is never written to. Each tool
runs as its own process tree, one after the other, on the same files:

- `ruff check --select ASYNC`, cold (no cache) and warm (its own cache, filled by a
  first run): the fast linter baseline;
- bare libcst: parse + codegen of every file, in a process pool of --jobs workers: the
  floor for any libcst tool;
- `asyncfix check` and `asyncfix apply --dry-run`, cold (`--no-cache`);
- `asyncfix check` warm: once to fill `.asyncfix_cache/`, then the measured rerun.

Then the floor of asyncfix's own design (see FLOOR): its parts, each run's CPU time
(the process and its workers) and its ratio to the floor.

Reported per tool: files, lines, wall time, lines/s, peak RSS (sum over the process and
its workers, sampled from /proc every 20 ms; PSS, so that pages a forked worker shares
with its parent count once) and the ratios to ruff and to libcst; then
issue #25's targets: a cold `check` within 3x the floor's CPU, a cold `apply --dry-run`
within 4x, a warm `check` within 3x ruff's warm run (wall), and the peak memory.
`--async-only` keeps only files that contain `async` (an all-async corpus, where every
file is parsed). `--profile` also runs `asyncfix check` in-process on one core under
cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"site-packages", "__pycache__", ".git", ".venv", "venv", "node_modules"}

LIBCST_ROUND_TRIP = """
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import libcst


def one(path):
    data = Path(path).read_bytes()
    try:
        code = libcst.parse_module(data).bytes
    except Exception:
        return 0
    return int(code == data)


if __name__ == "__main__":
    jobs, paths = int(sys.argv[1]), Path(sys.argv[2]).read_text().splitlines()
    if jobs == 1:
        ok = sum(map(one, paths))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            ok = sum(pool.map(one, paths, chunksize=max(1, min(64, len(paths) // (jobs * 4)))))
    print(f"{ok} of {len(paths)} files round-tripped", file=sys.stderr)
"""


# The floor of asyncfix's own design (issue #25): Python's `ast.parse` of every file (the
# prescreens' tree, which every file gets) plus libcst's parse and codegen of the files
# asyncfix really parses (those whose prescreens pass). CPU seconds on one core, each part
# timed alone; which files are parsed comes from an untimed asyncfix run first.
FLOOR = """
import ast, json, sys, time, warnings
from pathlib import Path

import libcst

from asyncfix.config import Config
from asyncfix.driver import run

jobs, paths = int(sys.argv[1]), Path(sys.argv[2]).read_text().splitlines()
parsed = [o.file.path for o in run([Path(".")], Config(), jobs=jobs).outcomes if o.parsed]
datas = [Path(p).read_bytes() for p in paths]
started = time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for data in datas:
        try:
            ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
stdlib = time.process_time() - started
started = time.process_time()
for path in parsed:
    libcst.parse_module(Path(path).read_bytes()).bytes
cst = time.process_time() - started
print(json.dumps({"ast": stdlib, "libcst": cst, "parsed": len(parsed)}))
"""


@dataclass
class Measure:
    tool: str
    command: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    files: int = 0
    lines: int = 0
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user + system of the process and every child it waited for
    summary: str = ""  # asyncfix's own summary line: proof that it did the whole run

    @property
    def lines_per_s(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def copy_tree(tree: Path, dest: Path, async_only: bool) -> tuple[list[Path], int]:
    files: list[Path] = []
    lines = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            source = Path(dirpath) / name
            if source.is_symlink():
                continue
            try:
                data = source.read_bytes()
            except OSError:
                continue
            if async_only and b"async" not in data:
                continue
            target = dest / source.relative_to(tree)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files.append(target)
            lines += data.count(b"\n")
    return files, lines


def _memory(pid: int) -> int:
    """Proportional set size (shared pages split among their users: forked workers share
    the parent's pages, so summing their RSS would count those pages several times)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Memory of `root` and all its descendants, from /proc."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += _memory(pid)
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def _kill_tree(root: int) -> None:
    todo, found = [root], []
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    for pid in found:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(tool: str, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Measure:
    peak = 0
    cpu = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(process.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = False
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(process.pid)  # only what this benchmark started
        _, stderr = process.communicate()
        stderr += b"timed out"
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    stop.set()
    sampler.join()
    text = stderr.decode(errors="replace")
    summary = [line for line in text.splitlines() if " files scanned" in line]
    failed = process.returncode not in (0, 1) or "Traceback" in text
    if failed or timed_out or ("asyncfix" in argv and not summary):
        print(f"{tool}: exit {process.returncode}\n{text[-3000:]}", file=sys.stderr)
    return Measure(
        tool,
        " ".join(argv),
        seconds,
        peak / 2**20,
        process.returncode,
        timed_out=timed_out,
        cpu_seconds=cpu,
        summary=summary[-1] if summary else "",
    )


def floor(
    copy: Path, env: dict[str, str], jobs: str, files: Path, script: Path
) -> dict[str, float]:
    """The floor's parts in CPU seconds (see FLOOR): `ast`, `libcst`, and `parsed` files."""
    out = subprocess.run(
        [sys.executable, "-P", str(script), jobs, str(files)],
        cwd=copy,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    parts: dict[str, float] = json.loads(out.decode().splitlines()[-1])
    return parts


def floor_table(rows: list[Measure], parts: dict[str, float]) -> str:
    """The floor, its parts, and each asyncfix run's CPU and its ratio to the floor."""
    total = parts["ast"] + parts["libcst"]
    lines = [
        f"floor (CPU, one core): {total:.2f} s = stdlib ast.parse of every file "
        f"{parts['ast']:.2f} s + libcst parse+codegen of the {int(parts['parsed']):,} files "
        f"asyncfix parses {parts['libcst']:.2f} s",
        "| run | CPU | wall | CPU / floor |",
        "|---|---|---|---|",
    ]
    for m in rows:
        lines.append(
            f"| {m.tool} | {m.cpu_seconds:.2f} s | {m.seconds:.2f} s | "
            f"{m.cpu_seconds / total if total else 0:.1f}x |"
        )
    return "\n".join(lines)


def profile(copy: Path, top: int) -> str:
    """asyncfix check in this process, one core, under cProfile: the top functions."""
    sys.path.insert(0, str(REPO))
    from asyncfix.config import Config
    from asyncfix.driver import run

    cwd = os.getcwd()
    os.chdir(copy)
    try:
        profiler = cProfile.Profile()
        profiler.enable()
        result = run([Path(".")], Config(), jobs=1)
        profiler.disable()
    finally:
        os.chdir(cwd)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(top)
    head = (
        f"in-process, 1 core: {result.summary.scanned} files, {result.summary.parsed} parsed, "
        f"{result.summary.seconds:.2f} s\n"
    )
    return head + out.getvalue()


def table(rows: list[Measure], ruff: Measure, libcst: Measure) -> str:
    lines = [
        "| tool | files | lines | wall | lines/s | peak RSS | vs ruff | libcst = 1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        wall = f"> {m.seconds:.0f} s (timed out)" if m.timed_out else f"{m.seconds:.2f} s"
        lines.append(
            f"| {m.tool} | {m.files:,} | {m.lines:,} | {wall} | "
            f"{m.lines_per_s:,.0f} | {m.peak_rss_mb:,.0f} MB | "
            f"{m.seconds / ruff.seconds:.1f}x | {libcst.seconds / m.seconds:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--async-only", action="store_true", help="only files holding `async`")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--profile", action="store_true", help="cProfile asyncfix check, 1 core")
    parser.add_argument("--skip-libcst", action="store_true", help="skip the libcst baseline")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds per command; then it is killed"
    )
    args = parser.parse_args()
    if not args.tree.is_dir():
        parser.error(f"{args.tree} is not a directory")

    workdir = Path(tempfile.mkdtemp(prefix="asyncfix-throughput-"))
    try:
        copy = workdir / "tree"
        files, lines = copy_tree(args.tree.resolve(), copy, args.async_only)
        print(f"{len(files):,} files, {lines:,} lines copied from {args.tree}", flush=True)
        (workdir / "files.txt").write_text("\n".join(map(str, files)))
        (workdir / "roundtrip.py").write_text(LIBCST_ROUND_TRIP)
        (workdir / "floor.py").write_text(FLOOR)
        # Bytecode as a user has it: compiled once, not at every start (with
        # PYTHONDONTWRITEBYTECODE set, each run compiled asyncfix's modules anew: ~0.3 s).
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPATH": str(REPO),
            "ASYNCFIX_CACHE_DIR": str(workdir / "cache"),
        }
        py, jobs = sys.executable, str(args.jobs)
        subprocess.run([py, "-m", "compileall", "-q", str(REPO / "asyncfix")], env=env, check=True)
        ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
        # -P: the tree's own modules (a copied `subprocess.py`...) must not shadow the stdlib.
        asyncfix = [py, "-P", "-m", "asyncfix"]
        ruff_cached = [ruff, "check", "--isolated", "--cache-dir", str(workdir / "ruff-cache"),
                       "--select", "ASYNC", "--exit-zero", "-q", "."]  # fmt: skip
        runs: list[tuple[str, list[str]]] = [
            ("ruff check --select ASYNC", [ruff, "check", "--isolated", "--no-cache",
                                           "--select", "ASYNC", "--exit-zero", "-q", "."]),
            ("(fill ruff's cache)", [*ruff_cached]),
            ("ruff check --select ASYNC (warm cache)", [*ruff_cached]),
            ("asyncfix check (cold)", [*asyncfix, "check", "--no-cache", "-j", jobs, "."]),
            ("asyncfix apply --dry-run (cold)",
             [*asyncfix, "apply", "--dry-run", "--no-cache", "-j", jobs, "."]),
            ("(fill the cache)", [*asyncfix, "check", "-j", jobs, "."]),
            ("asyncfix check (warm cache)", [*asyncfix, "check", "-j", jobs, "."]),
        ]  # fmt: skip
        if not args.skip_libcst:
            roundtrip = [py, str(workdir / "roundtrip.py"), jobs, str(workdir / "files.txt")]
            runs.insert(1, (f"libcst parse+codegen ({jobs} jobs)", roundtrip))
        results: list[Measure] = []
        for tool, argv in runs:
            m = measure(tool, argv, copy, env, args.timeout)
            m.files, m.lines = len(files), lines
            print(f"  {tool}: {m.seconds:.2f} s, {m.peak_rss_mb:,.0f} MB", flush=True)
            if m.summary:
                print(f"    {m.summary}", flush=True)
            if not tool.startswith("("):
                results.append(m)
        ruff_m = results[0]
        libcst_m = next((m for m in results if m.tool.startswith("libcst")), ruff_m)
        print()
        print(
            f"{args.tree} ({'files holding async only, ' if args.async_only else ''}"
            f"{len(files):,} files, {lines:,} lines), {args.jobs} jobs, {os.cpu_count()} CPUs"
        )
        print(table(results, ruff_m, libcst_m))
        parts = floor(copy, env, jobs, workdir / "files.txt", workdir / "floor.py")
        print(floor_table(results, parts))
        cold = next(m for m in results if m.tool == "asyncfix check (cold)")
        apply = next(m for m in results if m.tool.startswith("asyncfix apply"))
        warm = next(m for m in results if m.tool == "asyncfix check (warm cache)")
        ruff_warm = next(m for m in results if m.tool.startswith("ruff") and "warm" in m.tool)
        peak = max(m.peak_rss_mb for m in results if m.tool.startswith("asyncfix"))
        total = parts["ast"] + parts["libcst"]
        checks = [
            (cold.cpu_seconds <= 3 * total,
             f"cold check within 3x its floor's CPU ({cold.cpu_seconds / total:.1f}x)"),
            (apply.cpu_seconds <= 4 * total,
             f"cold apply --dry-run within 4x its floor's CPU ({apply.cpu_seconds / total:.1f}x)"),
            (warm.seconds <= 3 * ruff_warm.seconds,
             f"warm check within 3x ruff's warm run ({warm.seconds / ruff_warm.seconds:.1f}x)"),
            (peak < 500, f"peak memory under 500 MB ({peak:,.0f} MB, {args.jobs} jobs)"),
        ]  # fmt: skip
        if not args.skip_libcst:
            ratio = libcst_m.seconds / apply.seconds
            checks.append(
                (ratio >= 0.8, f"apply --dry-run at >= 0.8x libcst's throughput ({ratio:.2f}x)"
                 + ("" if args.async_only else "; the target is for --async-only"))
            )  # fmt: skip
        for ok, text in checks:
            print(f"target {'met' if ok else 'NOT met'}: {text}")
        if args.profile:
            print()
            print(profile(copy, 30))
        if args.json:
            payload = {
                "tree": str(args.tree),
                "floor": parts,
                "async_only": args.async_only,
                "jobs": args.jobs,
                "cpus": os.cpu_count(),
                "results": [asdict(m) | {"lines_per_s": m.lines_per_s} for m in results],
            }
            args.json.write_text(json.dumps(payload, indent=2))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
