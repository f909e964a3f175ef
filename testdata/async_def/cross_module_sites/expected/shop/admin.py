from shop import _slug


async def rename(post, save):
    await save(_slug(post.title))
