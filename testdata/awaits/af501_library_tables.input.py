"""Receivers typed from the coroutine table's newer libraries: SQLModel's AsyncSession,
httpx2, PyMongo's async client, asyncio's Process; a coroutine's result tested for truth."""

import asyncio

import httpx2
from pymongo import AsyncMongoClient
from sqlmodel.ext.asyncio.session import AsyncSession


async def remove(session: AsyncSession, hero):
    session.delete(hero)  # SQLModel's AsyncSession.delete is a coroutine
    session.add(hero)  # not a coroutine
    session.commit()


async def heroes(session: AsyncSession, statement):
    result = session.exec(statement)
    return result.all()


async def ping(url):
    async with httpx2.AsyncClient() as client:
        response = client.get(url)
        return response.status_code


async def ready(url):
    mongo = AsyncMongoClient(url)
    info = mongo.server_info()
    while not info:
        return False
    return True if info else False


async def child(cmd):
    proc = await asyncio.create_subprocess_exec(*cmd)
    proc.wait()  # asyncio's Process.wait is a coroutine
    proc.kill()  # not a coroutine
