from . import mid
from .mid import wait


async def retry(attempt):
    mid.wait(attempt)
    wait(attempt + 1)
    return attempt
