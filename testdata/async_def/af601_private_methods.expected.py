class Repo:

    def _key(self, item_id):
        return "item:" + str(item_id)

    @staticmethod
    def _clean(value):
        return value.strip()

    async def load(self, store, item_id):
        key = self._key(item_id)
        return await store.get(key, self._clean(" x "))
