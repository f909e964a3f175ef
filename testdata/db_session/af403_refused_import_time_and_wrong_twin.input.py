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
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def report():
    db = SessionLocal()
    try:
        db.execute(REPORT)
    finally:
        db.close()
