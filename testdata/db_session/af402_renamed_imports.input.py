"""Session factories reached through renamed imports: the module alias and the name alias
are still sqlalchemy's sessionmaker."""

import sqlalchemy.orm as saorm
from sqlalchemy.orm import sessionmaker as maker

from app.config import engine


def get_factory():
    factory = saorm.sessionmaker(bind=engine)
    return factory()


def get_other():
    Other = maker(bind=engine)
    with Other() as db:
        return db.scalar(QUERY)
