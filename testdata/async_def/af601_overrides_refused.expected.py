class Base:
    async def _fetch(self):
        return await self._io()

    async def _io(self):
        raise NotImplementedError


class Memory(Base):
    async def _fetch(self):
        return []


class Other:
    async def _name(self):
        return "other"

    async def describe(self):
        return await self._name()


class Another:
    async def _name(self):
        return "another"

    async def describe(self):
        return await self._name()
