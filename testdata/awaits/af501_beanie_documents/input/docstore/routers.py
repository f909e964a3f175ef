from docstore.models import Feed, FeedView, Note


async def purge():
    async for feed in Feed.find_all():
        feed.delete()


async def deactivate():
    async for stale in Feed.find(Feed.active == False):  # noqa: E712
        stale.replace()


async def first_ten():
    async for feed in Feed.find_all(limit=10):
        done = feed.delete()
        if not done:
            return


async def create(url):
    feed = Feed(url=url)
    feed.insert()
    return feed


async def untouched():
    async for view in Feed.find_all(projection_model=FeedView):
        view.delete()  # a FeedView, not a Feed
    async for projected in Feed.find_all(0, 10, None, FeedView):
        projected.delete()  # a projection too, passed by position
    async for note in Note.find_all():
        note.save()  # Note's own save, a def
    for plain in Feed.find_all():
        plain.delete()  # not an async for: nothing is typed
    async for again in Feed.find_all():
        again.delete()
    again = None  # bound twice: its type is not certain


async def reported():
    feed = Feed(url="x")
    feed.save()  # a class of the project defines save(): reported, not awaited
