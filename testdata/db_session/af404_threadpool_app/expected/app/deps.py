from fastapi import Depends, Header, HTTPException
from sqlalchemy.orm import Session

from app.db import User, get_db


def get_current_user(x_token: str = Header(), db: Session = Depends(get_db)):
    user = db.query(User).filter(User.token == x_token).first()
    if user is None:
        raise HTTPException(status_code=401, detail="unknown token")
    return user
