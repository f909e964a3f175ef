"""A script: it opens sessions by hand, and this module has no session dependency."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///./app.db")
SessionLocal = sessionmaker(bind=engine)


def main():
    db = SessionLocal()
    try:
        db.execute(QUERY)
    finally:
        db.close()
