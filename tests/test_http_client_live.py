"""The converted code does what the requests code did: each golden live_roundtrip_* case's
input (requests) and expected output (the target async client) run against one local
HTTP server, and every function must return the same thing before and after."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

CASES = Path(__file__).resolve().parent.parent / "testdata" / "http_client"
LIBRARIES = ("httpx2", "httpx", "aiohttp")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Requests in /wait at the same time: how much the clients overlapped.
    lock = threading.Lock()
    active = 0
    most = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest's output clean

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        # The client may have given up (the timeout cases): expected.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(status, body, content_type, headers)

    def _write(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: Any) -> None:
        self._send(200, json.dumps(payload).encode(), "application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/json":
            self._json({"method": self.command, "query": parse_qs(url.query)})
        elif url.path == "/redirect":
            self._send(302, b"", "text/plain", Location="/json?from=redirect")
        elif url.path == "/text":
            self._send(200, "héllo wörld".encode(), "text/plain; charset=utf-8")
        elif url.path == "/wait":
            with _Handler.lock:
                _Handler.active += 1
                _Handler.most = max(_Handler.most, _Handler.active)
            time.sleep(0.3)
            with _Handler.lock:
                _Handler.active -= 1
            self._send(200, b"waited", "text/plain")
        elif url.path == "/slow":
            time.sleep(1.0)
            self._send(200, b"late", "text/plain")
        else:
            self._send(404, b"nope", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length).decode()
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            body: Any = json.loads(raw)
        else:
            body = parse_qs(raw)
        self._json({"content_type": content_type, "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def dead_url() -> str:
    # A port that was just free: nothing listens there, so connecting is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _functions(module: ModuleType) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(module).items()
        if asyncio.iscoroutinefunction(value) and value.__module__ == module.__name__
    }


@pytest.mark.parametrize("library", LIBRARIES)
def test_converted_module_returns_what_requests_did(
    library: str, server: str, dead_url: str
) -> None:
    pytest.importorskip("requests")
    pytest.importorskip(library)
    source = CASES / f"live_roundtrip_{library}.input.py"
    converted = CASES / f"live_roundtrip_{library}.expected.py"
    text = converted.read_text()
    # The golden output really is the async version: no requests left, the target used.
    assert "requests" not in text.replace('"""Run against', "")
    assert f"import {library}" in text
    before = _functions(_load(source, f"live_{library}_before"))
    after = _functions(_load(converted, f"live_{library}_after"))
    assert set(before) == set(after) and len(before) >= 10
    for name, function in sorted(before.items()):
        argument = dead_url if name == "connection_refused" else server
        expected = asyncio.run(function(argument))
        actual = asyncio.run(after[name](argument))
        assert actual == expected, name


def test_the_server_distinguishes_what_the_functions_check(server: str) -> None:
    # A guard against a vacuous comparison: the requests version sees the differences.
    requests = pytest.importorskip("requests")
    module = _load(CASES / "live_roundtrip_httpx2.input.py", "live_guard")
    assert asyncio.run(module.head_does_not_follow(server)) == 302
    assert asyncio.run(module.follows_redirect(server))[0] == 200
    assert asyncio.run(module.not_found(server)) == "http error"
    assert asyncio.run(module.timed_out(server)) == "timeout"
    assert asyncio.run(module.text_and_content(server))[0] == "héllo wörld"
    assert requests.get(f"{server}/json").json()["method"] == "GET"


@pytest.mark.parametrize("library", LIBRARIES)
def test_converted_calls_do_not_block_the_loop(library: str, server: str) -> None:
    # Three gathered calls: the requests version runs them one after the other, the
    # converted one overlaps them (the server sees them in flight at the same time).
    pytest.importorskip(library)

    def most_in_flight(path: Path, name: str) -> int:
        module = _load(path, name)
        _Handler.most = 0

        async def three() -> None:
            results = await asyncio.gather(*(module.waited(server) for _ in range(3)))
            assert results == ["waited"] * 3

        asyncio.run(three())
        return _Handler.most

    assert most_in_flight(CASES / f"live_roundtrip_{library}.input.py", f"gb_{library}") == 1
    assert most_in_flight(CASES / f"live_roundtrip_{library}.expected.py", f"ga_{library}") == 3


@pytest.mark.parametrize("library", LIBRARIES)
def test_converted_fastapi_app_answers_as_before(library: str, server: str) -> None:
    # The shared client: created in the app's lifespan, reached through an injected
    # `request: Request`, in path operations and a dependency alike.
    pytest.importorskip(library)
    testclient = pytest.importorskip("fastapi.testclient")
    converted = CASES / f"live_fastapi_{library}.expected.py"
    assert "app.state.http_client" in converted.read_text()
    answers = []
    for path, name in (
        (CASES / f"live_fastapi_{library}.input.py", f"live_app_{library}_before"),
        (converted, f"live_app_{library}_after"),
    ):
        module = _load(path, name)
        setattr(module, "UPSTREAM", server)  # noqa: B010 (a module attribute mypy cannot see)
        with testclient.TestClient(module.app) as client:
            answers.append(
                [
                    client.get("/proxy/ada").json(),
                    client.get("/missing").json(),
                    client.get("/head").json(),
                    client.post("/forward", json={"a": 1}).json(),
                ]
            )
    before, after = answers
    assert before[0]["upstream"]["query"] == {"name": ["ada"]}  # the upstream was reached
    assert after == before
