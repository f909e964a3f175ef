"""No pandas here: to_dict() and to_json() are other objects' methods."""


async def serialize(model, event):
    return model.to_dict(), event.to_json(), model.to_csv()
