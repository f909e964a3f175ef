from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///./app.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def main():
    db = SessionLocal()
    try:
        db.execute(text("VACUUM"))
    finally:
        db.close()
    print("done")


if __name__ == "__main__":
    main()
