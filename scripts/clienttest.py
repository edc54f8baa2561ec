"""What the Python client tests share (scripts/*-client-test.py): failing with a message, and
polling with a deadline instead of sleeping."""
import os
import sys
import time


def fail(message):
    """Stops the whole test, from any thread, naming what failed."""
    print(f"FAIL: {message}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)


def until(deadline_seconds, what, probe):
    """Polls probe() until it returns a true value, or fails naming what it waited for."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"{what} (waited {deadline_seconds} s)")
        time.sleep(0.05)


def passed(message):
    print(f"  ok: {message}")
