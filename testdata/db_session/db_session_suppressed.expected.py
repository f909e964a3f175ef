from sqlalchemy.orm import sessionmaker

from app.config import engine


def get_db():
    SessionLocal = sessionmaker(bind=engine)  # asyncfix: ignore[AF402]
    with SessionLocal() as db:
        yield db


Module = sessionmaker(bind=engine)


def get_module_db():
    with Module() as db:
        yield db


def job():
    db = Module()  # asyncfix: ignore[db_session]
    try:
        db.execute(JOB)
    finally:
        db.close()
