from sqlalchemy.orm import sessionmaker

from app.config import engine

SessionLocal = sessionmaker(bind=engine)


def get_db():
    with SessionLocal() as db:
        yield db


def get_db_session():
    return SessionLocal()


def report():
    db = SessionLocal()
    try:
        db.execute(REPORT)
    finally:
        db.close()
