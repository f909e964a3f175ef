async def later():
    import time

    time.sleep(1)
    return 1
