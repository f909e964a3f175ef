import shop.text

from . import text
from .text import _upper as shout


async def preview(post, send):
    await send(text._slug(post.title))
    await send(shop.text._slug(post.title))
    await send(shout(post.body))
