"""Motor and PyMongo's async client: a database and a collection are items of their owner,
reached by attribute or by subscript; what they give by the library's own attributes is
not an item."""

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient

client = AsyncIOMotorClient("mongodb://localhost")
feeds = client.appdb.feeds
mongo = AsyncMongoClient("mongodb://localhost")


async def add_feed(url):
    existing = await client.appdb.feeds.find_one({"url": url})
    if existing:
        return False
    await client["appdb"]["feeds"].insert_one({"url": url})
    await feeds.delete_many({"url": None})
    return True


async def add_user(name):
    db = mongo["appdb"]
    found = await db.users.find_one({"name": name})
    if not found:
        await db.users.insert_one({"name": name})
    await db.users.archive.insert_one({"name": name})  # a sub-collection
    await mongo.appdb.users.find({"name": name}).to_list()


async def not_items():
    cursor = mongo.appdb.users.find({})  # find() is not a coroutine: a cursor
    await mongo.get_database("appdb").command("ping")  # a method returning the database
    client.close()  # Motor's close() is a plain method
    mongo.options.pool_options  # an attribute of the client, not a database
    return cursor
