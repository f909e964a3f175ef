from .work import _label, _pause, _save, _tag


async def handle(db, row, send):
    await _pause()
    await _save(db, row)
    await send(await _label(row))
    _tag(row)  # a forgotten await; as _tag becomes a def, the call simply runs
