from shop import _slug


async def rename(post, save):
    await save(await _slug(post.title))
