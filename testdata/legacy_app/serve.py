"""Serve the app with uvicorn (one worker): `python serve.py --port 8000`.

The app module is imported inside the server's running event loop, the way this service
has always been started: its import-time aiohttp session needs a running loop.
"""

import argparse
import asyncio

import uvicorn


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    config = uvicorn.Config(
        "app.main:app", host=args.host, port=args.port, log_level=args.log_level, workers=1
    )
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    asyncio.run(main())
