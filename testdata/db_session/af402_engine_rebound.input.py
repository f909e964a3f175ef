from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite://")


def init_db(url):
    global engine
    engine = create_async_engine(url)


async def get_db():
    factory = async_sessionmaker(engine)
    async with factory() as db:
        yield db
