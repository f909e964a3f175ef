"""Serve the app for real: a mock upstream and uvicorn, both on 127.0.0.1.

The app is served by uvicorn in a subprocess (serve.py), as in production. `--database-url` runs the suite
against another database, e.g. postgresql+asyncpg://user:password@127.0.0.1/orders.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def stock_of(sku: str) -> int:
    """What the mock inventory service says: a pure function of the SKU."""
    return sum(sku.encode()) % 20 + 5


def price_of(sku: str) -> int:
    return sum(sku.encode()) * 3


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        match = re.fullmatch(r"/(inventory|price)/([\w-]+)", self.path)
        if match is None or match.group(2) == "UNKNOWN":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        kind, sku = match.groups()
        payload = {"sku": sku, "stock": stock_of(sku)} if kind == "inventory" else {}
        if kind == "price":
            payload = {"sku": sku, "cents": price_of(sku)}
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--database-url", default=None, help="SQLAlchemy async URL to test with")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def base_url(
    upstream: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    database_url = request.config.getoption("--database-url") or (
        f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'orders.db'}"
    )
    port = _free_port()
    env = {**os.environ, "LEGACY_APP_UPSTREAM": upstream, "LEGACY_APP_DATABASE_URL": database_url}
    log = tmp_path_factory.mktemp("server") / "uvicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(f"the app did not start:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c
