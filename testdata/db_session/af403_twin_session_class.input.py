"""SQLModel style: the session class itself is the factory, with the module's engine."""

from sqlmodel import Session, create_engine

engine = create_engine("sqlite://")


def get_tenant_session(url):
    tenant_engine = create_engine(url)
    with Session(tenant_engine) as session:
        yield session


def get_session():
    with Session(engine) as session:
        yield session


def job():
    session = Session(engine)
    try:
        session.exec(QUERY)
    finally:
        session.close()
