async def _slug(title):
    return title.lower().replace(" ", "-")


async def publish(post, save):
    await save(await _slug(post.title))
