import subprocess
import threading

lock = threading.Lock()
counts = {}


async def timeout(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    return proc.communicate(timeout=5)


async def polled():
    proc = subprocess.Popen(["sleep", "1"])
    while proc.poll() is None:
        pass
    proc.wait()


async def string_command(cmd: str):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out, _ = proc.communicate()
    return out


async def text_lines():
    proc = subprocess.Popen(["ls"], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        print(line)
    proc.wait()


async def context_manager():
    with subprocess.Popen(["ls"]) as proc:
        proc.wait()


async def chained():
    return subprocess.Popen(["ls"], stdout=subprocess.PIPE).communicate()


async def handed_on(registry):
    proc = subprocess.Popen(["ls"])
    registry.append(proc)
    proc.wait()


async def text_result_kept():
    proc = subprocess.Popen(["ls"], stdout=subprocess.PIPE, text=True)
    result = proc.communicate()
    return result


async def under_lock():
    with lock:
        proc = subprocess.Popen(["ls"])
        proc.wait()


async def critical(name):
    seen = counts.get(name, 0)
    proc = subprocess.Popen(["ls"])
    proc.wait()
    counts[name] = seen + 1


async def not_waited():
    subprocess.Popen(["ls"])
    proc = subprocess.Popen(["ls"])
    return proc.pid


def sync_code():
    proc = subprocess.Popen(["ls"])
    proc.wait()


async def waited_in_a_callback(loop):
    proc = subprocess.Popen(["ls"])
    loop.call_soon(lambda: proc.wait())
