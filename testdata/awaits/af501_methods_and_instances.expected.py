class Service:
    async def load(self, key):
        return {"key": key}

    async def refresh(self):
        await self.load("all")
        data = await self.load("one")
        return data["key"]

    def sync_entry(self):
        return self.load("x")  # returned from a sync def: not a dropped coroutine


async def main():
    svc = Service()
    await svc.refresh()
    other = Service()
    other = None  # rebound: its type is not certain
    other.refresh()
