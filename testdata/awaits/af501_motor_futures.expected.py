from motor.motor_asyncio import AsyncIOMotorCollection


async def save(collection: AsyncIOMotorCollection, doc):
    await collection.insert_one(doc)
    cursor = collection.find({})  # a cursor, not a future
    return cursor
