import asyncio
import os.path
import subprocess as sp
import urllib.parse
from os import system as shell
from urllib.parse import urlencode


def helper(cmd):
    sp.check_call(cmd)


def outer():
    async def inner(cmd):
        # An async def inside a sync def still runs on the loop. (café: non-ASCII text)
        return await asyncio.to_thread(sp.run, cmd)

    return inner


async def build(cmd, query):
    url = urlencode(query)  # from urllib, but not urlopen: left alone
    parts = urllib.parse.urlsplit(url)
    await asyncio.to_thread(shell, cmd)
    await asyncio.to_thread(os.system, cmd)
    await asyncio.to_thread(helper, cmd)
    return [open(p) for p in parts]


async def resolve(host):
    import socket

    return (await asyncio.to_thread(socket
        .gethostbyname, host))
