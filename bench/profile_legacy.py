"""Record real profiles of testdata/legacy_app under bench/e2e.py's load (issue 27).

    python bench/profile_legacy.py [--seconds 3] [--users 20] [--out tests/data/profiles]

Serves a copy of the legacy app (uvicorn, one worker) against the mock upstream, puts
`--users` concurrent users on it, and records while they run:

- `legacy_app.speedscope.json`: `py-spy record --idle --full-filenames --format speedscope`
- `legacy_app.raw.txt`: the same with `--format raw` (collapsed stacks)
- `legacy_app.asyncio.log`: the app's output with PYTHONASYNCIODEBUG=1 (slow-callback lines)

`--idle` matters: a thread blocked in a socket read sleeps in the kernel, and py-spy leaves
sleeping samples out by default, which would hide exactly the blocking calls. asyncfix
drops the loop's own wait in the selector instead. py-spy attaches with ptrace: run this
as root or where ptrace_scope allows it. Paths in the profiles are made relative to the
copy (`/app/...`, as in a container), so the files are the same wherever they are recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e  # (bench/ is no package: its sibling script, by path)

CONTAINER_ROOT = "/app"


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        sys.exit("py-spy is not installed: pip install py-spy")
    return found


def record(pid: int, seconds: float, fmt: str, out: Path, rate: int) -> None:
    done = subprocess.run(
        [py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
         "--rate", str(rate), "--idle", "--full-filenames", "--format", fmt,
         "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )  # fmt: skip
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy record failed ({done.returncode}): {done.stderr.strip()}")


def _under_load(url: str, users: int, seconds: float, work: threading.Thread) -> None:
    # The load runs in this thread's loop while `work` (py-spy, or just a wait) runs.
    work.start()
    asyncio.run(e2e.load("profile", url, users, 0.5, seconds + 1.5, 10.0, 0.0))
    work.join()


def relocate(path: Path, copy: Path) -> None:
    """The copy's temporary directory -> /app, like a container's paths."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(str(copy.resolve()), CONTAINER_ROOT), encoding="utf-8")


def profile_app(
    out: Path, seconds: float, users: int, rate: int, latency_ms: float, formats: tuple[str, ...]
) -> dict[str, Path]:
    """Record the legacy app; returns format -> file written ("speedscope", "raw", "log")."""
    workdir = Path(tempfile.mkdtemp(prefix="asyncfix-profile-"))
    processes: list[subprocess.Popen[bytes]] = []
    written: dict[str, Path] = {}
    out.mkdir(parents=True, exist_ok=True)
    try:
        app = workdir / "app"
        shutil.copytree(
            e2e.LEGACY, app, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".*cache")
        )
        upstream, upstream_url = e2e.start_upstream(latency_ms)
        processes.append(upstream)
        database = f"sqlite+aiosqlite:///{workdir / 'orders.db'}"
        sampled = [f for f in formats if f != "log"]
        if sampled:
            server, url = e2e.start_app(app, upstream_url, database, workdir / "server.log")
            processes.append(server)
            for fmt in sampled:
                suffix = "speedscope.json" if fmt == "speedscope" else "raw.txt"
                target = out / f"legacy_app.{suffix}"
                errors: list[BaseException] = []

                def spy(fmt: str = fmt, target: Path = target, errors: list = errors) -> None:
                    try:
                        record(server.pid, seconds, fmt, target, rate)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        errors.append(exc)

                _under_load(url, users, seconds, threading.Thread(target=spy))
                if errors:
                    raise RuntimeError(str(errors[0]))
                relocate(target, app)
                written[fmt] = target
            e2e._stop(server)
        if "log" in formats:
            os.environ["PYTHONASYNCIODEBUG"] = "1"
            try:
                log = workdir / "debug.log"
                server, url = e2e.start_app(app, upstream_url, database, log)
            finally:
                del os.environ["PYTHONASYNCIODEBUG"]
            processes.append(server)
            waiter = threading.Thread(target=lambda: None)
            _under_load(url, users, seconds, waiter)
            e2e._stop(server)
            # Only the slow-callback lines: the rest (tracebacks of debug mode) is noise.
            lines = [
                line
                for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                if line.startswith("Executing <")
            ]
            target = out / "legacy_app.asyncio.log"
            target.write_text("".join(f"{line}\n" for line in lines[:200]), encoding="utf-8")
            relocate(target, app)
            written["log"] = target
        return written
    finally:
        for process in processes:
            e2e._stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="recorded seconds each")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the upstream's latency")
    parser.add_argument(
        "--out", type=Path, default=e2e.REPO / "tests" / "data" / "profiles", help="directory"
    )
    parser.add_argument(
        "--formats", default="speedscope,raw,log", help="comma-separated: speedscope,raw,log"
    )
    args = parser.parse_args()
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    written = profile_app(args.out, args.seconds, args.users, args.rate, args.latency_ms, formats)
    for fmt, path in written.items():
        print(f"{fmt}: {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
