import asyncio

from .text import _slug


async def schedule(post):
    # Handed to gather: turning _slug into a def would break this call.
    return await asyncio.gather(_slug(post.title))
