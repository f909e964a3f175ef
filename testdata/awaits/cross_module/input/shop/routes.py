import shop.helpers
from fastapi import Depends

from . import helpers
from .helpers import get_db, send_email as notify
from .service import Mailer


async def signup(email, db=Depends(get_db)):
    notify(email)
    helpers.send_email(email)
    shop.helpers.send_email(email)
    helpers.render("welcome")  # a sync function: untouched
    mailer = Mailer()
    mailer.send(email)
    mailer.queue(email)
    db.commit()
