async def _kept():  # asyncfix: ignore[AF601]
    return 1


async def use():
    return await _kept()


async def _site_kept():
    return 2


async def use_site():
    return await _site_kept()  # asyncfix: ignore[async_def]


class Repo:  # asyncfix: ignore[AF601]
    async def _key(self, x):
        return str(x)

    async def load(self, x):
        return await self._key(x)
