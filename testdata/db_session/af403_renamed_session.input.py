"""A session class and Depends under other names: still opened by hand, still handed to a
background task."""

from fastapi import BackgroundTasks
from fastapi import Depends as Dep
from sqlalchemy.orm import Session as SyncSession

from app.config import engine, get_db


def purge():
    db = SyncSession(engine)
    try:
        db.execute(PURGE)
    finally:
        db.close()


def later(tasks: BackgroundTasks, db: SyncSession = Dep(get_db)):
    tasks.add_task(audit, db)
