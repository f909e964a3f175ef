"""Session factories reached through renamed imports: the module alias and the name alias
are still sqlalchemy's sessionmaker."""

import sqlalchemy.orm as saorm
from sqlalchemy.orm import sessionmaker as maker

from app.config import engine

factory = saorm.sessionmaker(bind=engine)


def get_factory():
    return factory()


Other = maker(bind=engine)


def get_other():
    with Other() as db:
        return db.scalar(QUERY)
