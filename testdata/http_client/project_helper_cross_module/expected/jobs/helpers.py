import time


def slow(seconds):
    time.sleep(seconds)
