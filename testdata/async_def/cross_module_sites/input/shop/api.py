import shop.text

from . import text
from .text import _upper as shout


async def preview(post, send):
    await send(await text._slug(post.title))
    await send(await shop.text._slug(post.title))
    await send(await shout(post.body))
