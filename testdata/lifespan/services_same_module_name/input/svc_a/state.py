EVENTS: list[str] = []
