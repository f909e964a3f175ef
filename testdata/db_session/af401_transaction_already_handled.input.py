from sqlalchemy.orm import sessionmaker

from app.config import engine

SessionLocal = sessionmaker(bind=engine)


def commits_by_hand():
    db = SessionLocal()
    try:
        yield db
        db.commit()
    finally:
        db.close()


def rolls_back_already():
    db = SessionLocal()
    try:
        yield db
    except Exception:
        db.rollback()
        raise
    finally:
        db.close()


def begin_block():
    with SessionLocal.begin() as db:
        yield db


def already_fixed():
    with SessionLocal() as db:
        try:
            yield db
            db.commit()
        except Exception:
            db.rollback()
            raise


def already_fixed_without_commit():
    with SessionLocal() as db:
        try:
            yield db
        except Exception:
            db.rollback()
            raise


def not_a_session():
    conn = engine.connect()
    try:
        yield conn
    finally:
        conn.close()
