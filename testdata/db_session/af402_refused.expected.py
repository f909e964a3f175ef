from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

from app.config import settings

SessionLocal = None
base_engine = create_engine(settings.url)


async def engine_per_call():
    engine = create_async_engine(settings.url)
    factory = async_sessionmaker(engine)
    async with factory() as db:
        yield db


def engine_from_a_parameter(engine):
    factory = sessionmaker(bind=engine)
    return factory()


def computes_its_arguments():
    factory = sessionmaker(bind=create_engine(settings.url))
    return factory()


def name_taken():
    SessionLocal = sessionmaker(bind=late_engine)
    return SessionLocal()


def engine_defined_below():
    factory = sessionmaker(bind=late_engine)
    return factory()


async def called_inline():
    async with async_sessionmaker(late_engine)() as db:
        yield db


def hands_out_the_factory():
    factory = sessionmaker(bind=base_engine)
    factory.configure(autoflush=False)
    return factory()


def outer():
    def inner():
        factory = sessionmaker(bind=late_engine)
        return factory()

    return inner


late_engine = create_engine(settings.url)
