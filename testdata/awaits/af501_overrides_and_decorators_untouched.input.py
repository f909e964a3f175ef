def cached(fn):
    return fn


class Base:
    async def load(self):
        return None

    async def save(self):
        return None

    async def run(self):
        self.load()  # Sync overrides it with a def: not certainly a coroutine
        self.save()


class Sync(Base):
    def load(self):
        return 1


@cached
async def decorated():
    return None


async def main():
    decorated()  # the decorator may return anything
