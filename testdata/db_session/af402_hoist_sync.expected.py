from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///./app.db")
SessionLocal = sessionmaker(bind=engine)
def get_db():
    """No blank line above: the factory goes where the function was."""
    with SessionLocal() as db:
        yield db


class Repository:
    def session(self):
        Factory = sessionmaker(bind=engine)
        return Factory()
