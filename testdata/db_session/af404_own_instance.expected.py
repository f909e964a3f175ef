from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def bump(self) -> int:
        self.n += 1
        return self.n


# Made by a class of this module: its methods change it (in threads, they would race).
counter = Counter()


def get_db():
    with SessionLocal() as db:
        yield db


@app.post("/a")
async def a(db: Session = Depends(get_db)):
    db.execute(text("SELECT 1"))
    counter.n += 1
    return {"n": counter.n}


@app.post("/b")
async def b(db: Session = Depends(get_db)):
    db.execute(text("SELECT 1"))
    return {"n": counter.bump()}


@app.get("/c")
def c(db: Session = Depends(get_db)):
    # Only read: a plain def is safe.
    db.execute(text("SELECT 1"))
    return {"n": counter.n}
