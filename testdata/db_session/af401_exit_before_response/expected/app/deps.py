from sqlalchemy.orm import sessionmaker

from app.config import engine

SessionLocal = sessionmaker(bind=engine)


def get_db():
    with SessionLocal() as db:
        try:
            yield db
            db.commit()
        except Exception:
            db.rollback()
            raise
