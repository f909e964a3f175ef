async def _slug(title):
    return title.lower().replace(" ", "-")


async def _upper(value):
    return value.upper()


async def publish(post, save):
    await save(await _slug(post.title), await _upper(post.body))
