import shop.helpers
from fastapi import Depends

from . import helpers
from .helpers import get_db, send_email as notify
from .service import Mailer


async def signup(email, db=Depends(get_db)):
    await notify(email)
    await helpers.send_email(email)
    await shop.helpers.send_email(email)
    helpers.render("welcome")  # a sync function: untouched
    mailer = Mailer()
    await mailer.send(email)
    mailer.queue(email)
    await db.commit()
