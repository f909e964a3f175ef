"""The project's clients, each created once at import (item 1 of issue 24 is about where)."""

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient

client = AsyncIOMotorClient("mongodb://localhost")
feeds = client.appdb.feeds
users = client["appdb"]["users"]
mongo = AsyncMongoClient("mongodb://localhost")
events = mongo.appdb.events
