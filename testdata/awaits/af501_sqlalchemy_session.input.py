from sqlalchemy.ext.asyncio import AsyncSession


async def create_user(db: AsyncSession, user, audit):
    db.add(user)  # not a coroutine: stays as it is
    db.add_all([audit])
    db.flush()
    db.refresh(user)
    db.commit()  # the forgotten one
    db.expunge(audit)
    return user


async def already_fine(db: AsyncSession, user):
    db.add(user)
    await db.commit()
