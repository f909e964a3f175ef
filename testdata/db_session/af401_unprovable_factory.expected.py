from sqlalchemy.orm import Session, sessionmaker

from app.database import SessionLocal
from app.config import engine


def make_session():
    return Session(engine)


Configurable = sessionmaker(**engine_options)
Custom = sessionmaker(bind=engine, class_=TenantSession)
Twice = sessionmaker(bind=engine)
Twice = sessionmaker(bind=engine, autoflush=False)


def imported_factory():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def function_factory():
    db = make_session()
    try:
        yield db
    finally:
        db.close()


def options_unknown():
    db = Configurable()
    try:
        yield db
    finally:
        db.close()


def custom_class():
    db = Custom()
    try:
        yield db
    finally:
        db.close()


def assigned_twice():
    db = Twice()
    try:
        yield db
    finally:
        db.close()
