class Repo:
    async def _key(self, item_id):
        return "item:" + str(item_id)

    @staticmethod
    async def _clean(value):
        return value.strip()

    async def load(self, store, item_id):
        key = await self._key(item_id)
        return await store.get(key, await self._clean(" x "))
