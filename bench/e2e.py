"""End to end: the legacy app before and after `asyncfix apply`, under the same load.

    python bench/e2e.py [--users 100] [--duration 20] [--latency-ms 50] [--json FILE]

1. Copies testdata/legacy_app/ twice into a temporary directory and runs `asyncfix apply`
   (this checkout's) on the second copy: the measured "after" is always asyncfix's own
   output, whatever codemods exist when this runs; never a hand-written version.
2. Starts the mock upstream (bench/mock_upstream.py, fixed latency) on 127.0.0.1.
3. For each app in turn: serves it with uvicorn (one worker, the app's serve.py) on its own
   fresh SQLite database (or `--database-url`), then `--users` concurrent users (an asyncio
   load generator; each user sends its next request as soon as the last one answered,
   after `--think-ms`) for `--warmup` + `--duration` seconds. Only requests that finish
   inside the measured window count. A request fails on a non-2xx status, a connection
   error or `--timeout`.
4. Prints p50/p95/p99 latency, req/s and error rate before and after, and the ratios, in
   the seed article's table shape, and checks the targets: >= 10x req/s, <= 1/10 the p95,
   zero errors after.

All traffic stays on 127.0.0.1, and every process this starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
LEGACY = REPO / "testdata" / "legacy_app"
SKUS = ("WIDGET-1", "GADGET-7", "SPROCKET-2", "BOLT-9")


@dataclass
class Result:
    name: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    error_kinds: dict[str, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def rps(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def summary(self) -> dict[str, object]:
        data = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        data.update(
            p50_ms=self.percentile(50),
            p95_ms=self.percentile(95),
            p99_ms=self.percentile(99),
            req_per_s=self.rps,
            error_rate=self.error_rate,
        )
        return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare(workdir: Path) -> tuple[Path, Path, str]:
    """The two copies; the second one rewritten by asyncfix. Returns asyncfix's summary."""
    ignore = shutil.ignore_patterns("__pycache__", "*.db", ".pytest_cache", ".asyncfix_cache")
    before, after = workdir / "before", workdir / "after"
    shutil.copytree(LEGACY, before, ignore=ignore)
    shutil.copytree(LEGACY, after, ignore=ignore)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "asyncfix", "apply", "--no-cache", "--diff", "."],
        cwd=after,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode not in (0, 1):
        sys.exit(f"asyncfix apply failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    (workdir / "asyncfix.diff").write_text(done.stdout)
    summary = [line for line in done.stderr.splitlines() if " files scanned" in line]
    return before, after, summary[-1] if summary else done.stderr.strip()


def start_upstream(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("mock_upstream.py")),
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("listening on "):
        _stop(process)
        sys.exit(f"mock upstream did not start: {line!r}")
    return process, line.removeprefix("listening on ")


def start_app(
    app: Path, upstream: str, database_url: str, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "LEGACY_APP_UPSTREAM": upstream, "LEGACY_APP_DATABASE_URL": database_url}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(port)],
            cwd=app,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    _stop(process)
    sys.exit(f"{app.name}: the app did not start:\n{log.read_text()[-4000:]}")


async def load(
    name: str, url: str, users: int, warmup: float, duration: float, timeout: float, think: float
) -> Result:
    result = Result(name)
    rng = random.Random(1234)
    start = time.perf_counter()
    window = (start + warmup, start + warmup + duration)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    def next_path() -> str:
        # The seed's endpoint: read a record, enrich it from the upstream service.
        if rng.random() < 0.8:
            return f"/orders/{rng.randint(1, 3)}"
        return f"/quotes/{rng.choice(SKUS)}?quantity={rng.randint(1, 9)}"

    async def user(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < window[1]:
            path = next_path()
            sent = time.perf_counter()
            error = None
            try:
                async with session.get(url + path) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"HTTP {response.status}"
            except asyncio.TimeoutError:
                error = "timeout"
            except aiohttp.ClientError as exc:
                error = type(exc).__name__
            done = time.perf_counter()
            if window[0] <= done < window[1]:
                result.requests += 1
                result.latencies_ms.append((done - sent) * 1000)
                if error:
                    result.errors += 1
                    result.error_kinds[error] = result.error_kinds.get(error, 0) + 1
            if think:
                await asyncio.sleep(think)

    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        await asyncio.gather(*(user(session) for _ in range(users)))
    result.seconds = duration
    return result


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def table(before: Result, after: Result) -> str:
    rows = [
        "| app | p50 | p95 | p99 | requests/s | error rate |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in (("legacy (before)", before), ("asyncfix apply (after)", after)):
        rows.append(
            f"| {label} | {_ms(r.percentile(50))} | {_ms(r.percentile(95))} | "
            f"{_ms(r.percentile(99))} | {r.rps:,.1f} | {r.error_rate:.1%} |"
        )
    speedup = after.rps / before.rps if before.rps else float("inf")
    p95 = before.percentile(95) / after.percentile(95) if after.percentile(95) else float("inf")
    p50 = before.percentile(50) / after.percentile(50) if after.percentile(50) else float("inf")
    p99 = before.percentile(99) / after.percentile(99) if after.percentile(99) else float("inf")
    rows.append(
        f"| after vs before | 1/{p50:,.1f} | 1/{p95:,.1f} | 1/{p99:,.1f} | {speedup:,.1f}x | |"
    )
    return "\n".join(rows)


def targets(before: Result, after: Result) -> list[str]:
    speedup = after.rps / before.rps if before.rps else float("inf")
    p95 = before.percentile(95) / after.percentile(95) if after.percentile(95) else float("inf")
    return [
        f"{'met' if speedup >= 10 else 'NOT met'}: >= 10x req/s ({speedup:,.1f}x)",
        f"{'met' if p95 >= 10 else 'NOT met'}: <= 1/10 the p95 (1/{p95:,.1f})",
        f"{'met' if after.errors == 0 else 'NOT met'}: zero errors after ({after.errors})",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per app")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the upstream's latency")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--think-ms", type=float, default=0.0, help="each user's pause")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file each")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="asyncfix-e2e-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        before_app, after_app, applied = prepare(workdir)
        print(f"asyncfix apply on the copy: {applied}", flush=True)
        upstream, upstream_url = start_upstream(args.latency_ms)
        processes.append(upstream)
        results: dict[str, Result] = {}
        for name, app in (("before", before_app), ("after", after_app)):
            database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / name}.db"
            server, url = start_app(app, upstream_url, database_url, workdir / f"{name}.log")
            processes.append(server)
            print(f"{name}: {args.users} users for {args.warmup:g}+{args.duration:g} s", flush=True)
            results[name] = asyncio.run(
                load(name, url, args.users, args.warmup, args.duration, args.timeout,
                     args.think_ms / 1000)
            )  # fmt: skip
            _stop(server)
        before, after = results["before"], results["after"]
        print()
        print(
            f"{args.users} concurrent users, {args.duration:g} s measured after "
            f"{args.warmup:g} s warm-up, upstream latency {args.latency_ms:g} ms, "
            f"uvicorn 1 worker, {os.cpu_count()} CPUs"
        )
        print(table(before, after))
        for line in targets(before, after):
            print(f"target {line}")
        for r in (before, after):
            if r.error_kinds:
                print(f"{r.name} errors: {r.error_kinds}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "settings": vars(args) | {"json": str(args.json)},
                        "asyncfix": applied,
                        "before": before.summary(),
                        "after": after.summary(),
                    },
                    indent=2,
                    default=str,
                )
            )
        if args.keep:
            print(f"kept: {workdir} (asyncfix.diff, logs)")
        return 0
    finally:
        for process in processes:
            _stop(process)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
