from .helpers import slow as pause


def wait(attempt):
    pause(2**attempt)
