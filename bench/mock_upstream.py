"""A mock upstream service with a fixed latency, for bench/e2e.py: 127.0.0.1 only.

    python bench/mock_upstream.py --latency-ms 50 [--port 0]

Prints `listening on http://127.0.0.1:PORT` once it accepts connections. Plain asyncio
(HTTP/1.1 with keep-alive, GET only), so that thousands of concurrent waits cost nothing
and the service is never the bottleneck of a benchmark. It answers what the legacy app's
inventory and price services answer (the same functions as its tests' mock):

    GET /inventory/<sku> -> {"sku": sku, "stock": n}
    GET /price/<sku>     -> {"sku": sku, "cents": n}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re

_PATH = re.compile(rb"^GET /(inventory|price)/([\w-]+) HTTP/1\.[01]$")


def stock_of(sku: str) -> int:
    return sum(sku.encode()) % 20 + 5


def price_of(sku: str) -> int:
    return sum(sku.encode()) * 3


def _response(status: bytes, body: bytes, keep_alive: bool) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: " + (b"keep-alive" if keep_alive else b"close") + b"\r\n\r\n" + body
    )


def answer(request_line: bytes) -> tuple[bytes, bytes]:
    match = _PATH.match(request_line)
    if match is None or match.group(2) == b"UNKNOWN":
        return b"404 Not Found", b'{"detail": "not found"}'
    kind, sku = match.group(1).decode(), match.group(2).decode()
    payload = (
        {"sku": sku, "stock": stock_of(sku)}
        if kind == "inventory"
        else {"sku": sku, "cents": price_of(sku)}
    )
    return b"200 OK", json.dumps(payload).encode()


async def serve(host: str, port: int, latency: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(b":") for line in lines[1:] if line)
                }
                length = int(headers.get(b"content-length", b"0") or 0)
                if length:
                    await reader.readexactly(length)
                keep_alive = headers.get(b"connection", b"").lower() != b"close"
                await asyncio.sleep(latency)
                status, body = answer(lines[0])
                writer.write(_response(status, body, keep_alive))
                await writer.drain()
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port, backlog=4096)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve("127.0.0.1", args.port, args.latency_ms / 1000))


if __name__ == "__main__":
    main()
