from app import database
from app.db import events, feeds
from app.db import users as user_collection
from app import db


async def add_feed(url):
    existing = feeds.find_one({"url": url})
    if existing:
        return False
    feeds.insert_one({"url": url})
    events.insert_one({"kind": "feed", "url": url})
    return True


async def forget(name):
    user_collection.delete_one({"name": name})
    db.users.delete_many({"name": None})


async def remove(session: database.AsyncSession, hero):
    session.delete(hero)
    session.commit()


async def untouched(session: database.AsyncSession):
    cursor = feeds.find({})  # a cursor, not a coroutine
    session.add(None)  # not a coroutine
    return cursor
