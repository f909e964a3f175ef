import sys

if sys.version_info >= (3, 11):
    async def _f():
        return 1
else:
    async def _f():
        return 2


async def main():
    return await _f()
