import json

import orjson
from starlette.responses import Response


async def handler(data, executor):
    # A nested def or a lambda may run in a thread: left alone.
    def render():
        return Response(json.dumps(data), media_type="application/json")

    make = lambda: Response(json.dumps(data), media_type="application/json")  # noqa: E731
    await executor.run(render)
    await executor.run(make)

    async def inner():
        # A nested async def runs on the loop again.
        return Response(
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
            media_type="application/json",
        )

    return await inner()


async def with_default(data, body=json.dumps({"empty": True})):
    # A parameter default runs where the function is defined.
    return Response(body, media_type="application/json")


def factory(data):
    async def endpoint():
        return Response(
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
            media_type="application/json",
        )

    return endpoint
