"""SQLModel style: the session class itself is the factory, with the module's engine."""

from contextlib import contextmanager

from sqlmodel import Session, create_engine

engine = create_engine("sqlite://")


def get_tenant_session(url):
    tenant_engine = create_engine(url)
    with Session(tenant_engine) as session:
        yield session


def get_session():
    with Session(engine) as session:
        yield session


@contextmanager
def get_db_session():
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def job():
    with get_db_session() as session:
        session.exec(QUERY)
