from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

from app.config import engine

SessionLocal = sessionmaker(bind=engine)


def warm_cache():
    db = SessionLocal()
    try:
        db.execute(WARM_UP)
    finally:
        db.close()


warm_cache()  # runs at import time, above the dependency


def get_db():
    with SessionLocal() as db:
        try:
            yield db
            db.commit()
        except Exception:
            db.rollback()
            raise


@contextmanager
def get_db_session():
    with SessionLocal() as db:
        try:
            yield db
            db.commit()
        except Exception:
            db.rollback()
            raise


def report():
    with get_db_session() as db:
        db.execute(REPORT)
