def _slug(title):
    return title.lower().replace(" ", "-")


def _upper(value):
    return value.upper()


async def publish(post, save):
    await save(_slug(post.title), _upper(post.body))
