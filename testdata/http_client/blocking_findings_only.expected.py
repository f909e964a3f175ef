import asyncio
import socket
import sqlite3
import urllib.request

import psycopg2


async def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url) as resp:
        return resp.read()


async def ping(host: str) -> None:
    sock = socket.create_connection((host, 80), timeout=3)
    sock.close()


async def users(dsn: str) -> list:
    conn = psycopg2.connect(dsn)
    local = sqlite3.connect("cache.db")
    return conn.cursor().fetchall() + local.execute("select 1").fetchall()


async def config() -> str:
    with open("settings.ini") as fh:
        return fh.read()


async def resolve(host: str) -> str:
    return await asyncio.to_thread(socket.gethostbyname, host)
