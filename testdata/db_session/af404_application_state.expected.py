from fastapi import Depends, FastAPI, Request
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()
app.state.issued = 0


def get_db():
    with SessionLocal() as db:
        yield db


@app.post("/tickets")
async def take_ticket(request: Request, db: Session = Depends(get_db)):
    # In the thread pool, two requests would read the same number: left async, reported.
    number = request.app.state.issued + 1
    db.execute(text("SELECT 1"))
    request.app.state.issued = number
    return {"ticket": number}


@app.get("/tickets")
def read_tickets(request: Request, db: Session = Depends(get_db)):
    # The application's state only read: a plain def is safe.
    db.execute(text("SELECT 1"))
    return {"issued": request.app.state.issued}
