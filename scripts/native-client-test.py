#!/usr/bin/env python3
"""redis-py (PyPI) against Conclave's native commands on a 3-node cluster.

Usage: native-client-test.py CLUSTER_DIR PORT PORT PORT

- sessions: open, keep alive, close; a lock command without a session is NOSESSION;
- a blocking lock across 8 threads (each its own connection and session, spread over the nodes):
  every grant's fencing token is larger than the one before, each holder does a read-modify-write
  of a plain key and a fenced write with its token, and a write with a stale token is refused;
- IDs from every node are unique, and ID.DECODE gives each node's worker;
- a throttle (redis-cell's shape) allows its burst and then limits;
- a delay task fires into a queue, is popped and acknowledged;
- a connection parked on a lock runs nothing else until its acquire is answered;
- a lost lock is told to its holder: a push on RESP3, an error to its next command on RESP2;
- a config watch (a raw RESP2 connection, as a watch is a stream) sees every change in revision
  order, its node is killed with SIGKILL part-way, and the watch resumes on another node from the
  last revision it saw: no change missed, none twice.
Every wait has a deadline; exits non-zero naming the first failure.
"""
import os
import signal
import socket
import sys
import threading
import time

import redis

from clienttest import fail, passed, until


def retrying(what, call, deadline_seconds=20):
    """Runs call() until it does not raise a retryable error (no leader yet, a node restarting)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            return call()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            last = error
        except redis.exceptions.ResponseError as error:
            if not any(word in str(error) for word in ("CLUSTERDOWN", "not the leader", "timed out", "no leader")):
                raise
            last = error
        if time.monotonic() > deadline:
            fail(f"{what}: still failing after {deadline_seconds} s: {last}")
        time.sleep(0.1)


def fields(reply):
    """A map reply as a dict: RESP3 gives one, RESP2 a flat list of names and values."""
    return reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))


def client(port):
    """One connection of its own: a Conclave session belongs to its connection."""
    return redis.Redis(port=port, socket_timeout=30, single_connection_client=True, decode_responses=True)


def sessions(ports):
    r = client(ports[0])
    try:
        r.execute_command("LOCK.TRY", "py-nosession")
        fail("LOCK.TRY without a session was not refused")
    except redis.exceptions.ResponseError as error:
        if not str(error).startswith("NOSESSION"):
            fail(f"LOCK.TRY without a session: {error}")
    session = retrying("SESSION.OPEN", lambda: r.execute_command("SESSION.OPEN", 5000))
    if not isinstance(session, int) or session <= 0:
        fail(f"SESSION.OPEN answered {session!r}")
    expires = r.execute_command("SESSION.KEEPALIVE")
    if not isinstance(expires, int) or expires <= 0:
        fail(f"SESSION.KEEPALIVE answered {expires!r}")
    if r.execute_command("SESSION.CLOSE") != "OK":
        fail("SESSION.CLOSE")
    r.close()
    passed(f"session {session} opened, kept alive (expires at cluster ms {expires}), closed; no session: NOSESSION")


def blocking_lock(ports, threads=8, rounds=12):
    """8 threads, one lock: each grant's token exceeds the last; the fenced resource takes every
    holder's write and refuses a stale token."""
    order = threading.Lock()
    grants = []
    errors = []

    def worker(number):
        try:
            r = client(ports[number % len(ports)])
            retrying("SESSION.OPEN", lambda: r.execute_command("SESSION.OPEN", 10000))
            for round_ in range(rounds):
                token = retrying("LOCK.ACQUIRE", lambda: r.execute_command("LOCK.ACQUIRE", "py-lock", 20000))
                if token is None:
                    raise AssertionError(f"thread {number}: LOCK.ACQUIRE timed out after 20 s")
                with order:
                    if grants and token <= grants[-1][0]:
                        raise AssertionError(f"token {token} granted after token {grants[-1][0]}")
                    grants.append((token, number))
                # The critical section: a read-modify-write no other holder may interleave with.
                count = int(r.get("py-count") or 0)
                r.set("py-count", count + 1)
                reply = r.execute_command("FENCED.SET", "py-resource", f"{number}:{round_}", "py-lock", token)
                if reply != "OK":
                    raise AssertionError(f"FENCED.SET with a live token answered {reply!r}")
                if r.execute_command("LOCK.RELEASE", "py-lock") != "OK":
                    raise AssertionError("LOCK.RELEASE")
            r.execute_command("SESSION.CLOSE")
            r.close()
        except Exception as error:  # reported by the main thread
            errors.append(f"thread {number}: {error!r}")

    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        if w.is_alive():
            fail("a lock thread did not finish within 120 s")
    if errors:
        fail("; ".join(errors[:3]))
    total = threads * rounds
    if len(grants) != total:
        fail(f"{len(grants)} grants, expected {total}")
    r = client(ports[1])
    count = int(r.get("py-count"))
    if count != total:
        fail(f"the lock-protected counter is {count} after {total} increments: two holders overlapped")
    stale = grants[0][0]
    try:
        r.execute_command("FENCED.SET", "py-resource", "late", "py-lock", stale)
        fail("FENCED.SET with a stale token was accepted")
    except redis.exceptions.ResponseError as error:
        if not str(error).startswith("FENCED"):
            fail(f"FENCED.SET with a stale token: {error}")
    r.close()
    seconds = time.monotonic() - started
    passed(f"{total} grants over {threads} threads in {seconds:.1f} s, tokens increasing "
           f"({grants[0][0]} … {grants[-1][0]}), counter {count}, stale token {stale} refused")


def ids(ports):
    seen = set()
    workers = set()
    for port in ports:
        r = client(port)
        batch = retrying(f"ID.NEXT on {port}", lambda: r.execute_command("ID.NEXT", 1000))
        if len(batch) != 1000:
            fail(f"ID.NEXT 1000 on {port} answered {len(batch)} IDs")
        if sorted(batch) != batch:
            fail(f"IDs from {port} are not increasing")
        seen.update(batch)
        decoded = r.execute_command("ID.DECODE", batch[0])
        decoded = fields(decoded)
        workers.add(decoded["worker"])
        r.close()
    if len(seen) != 1000 * len(ports):
        fail(f"{1000 * len(ports) - len(seen)} duplicate IDs across the nodes")
    if len(workers) != len(ports):
        fail(f"the nodes share worker IDs: {sorted(workers)}")
    passed(f"{len(seen)} IDs from {len(ports)} nodes, all distinct; workers {sorted(workers)}")


def throttle(ports):
    r = client(ports[2])
    replies = [retrying("THROTTLE", lambda: r.execute_command("THROTTLE", "py-throttle", 4, 10, 60)) for _ in range(6)]
    allowed = [reply[0] == 0 for reply in replies]
    if allowed != [True] * 5 + [False]:
        fail(f"THROTTLE burst 4 answered {replies}")
    if replies[0][1] != 5 or replies[4][2] != 0 or replies[5][3] < 1:
        fail(f"THROTTLE fields: {replies}")
    r.close()
    passed(f"THROTTLE py-throttle 4 10 60: 5 allowed, then limited (retry after {replies[5][3]} s)")


def delay_task(ports):
    r = client(ports[0])
    task = retrying("SCHED.ADD", lambda: r.execute_command("SCHED.ADD", "py-task", "AFTER", 300, "QUEUE", "py-q", "PAYLOAD", "hello"))
    popper = client(ports[1])

    def pop():
        messages = retrying("QUEUE.POP", lambda: popper.execute_command("QUEUE.POP", "py-q", 1, 30000))
        return messages[0] if messages else None

    message, fired_task, payload = until(15, "the delay task to reach its queue", pop)
    if fired_task != task or payload != "hello":
        fail(f"QUEUE.POP gave task {fired_task} payload {payload!r}, expected task {task} 'hello'")
    if popper.execute_command("QUEUE.ACK", "py-q", message) != "OK":
        fail("QUEUE.ACK")

    def finished():
        state = r.execute_command("SCHED.GET", task)
        task_fields = fields(state)
        return task_fields if int(task_fields["succeeded"]) == 1 else None

    done = until(10, "the acknowledged task to count as succeeded", finished)
    r.close()
    popper.close()
    passed(f"task {task} fired after 300 ms into py-q as message {message}, acknowledged; state {done['state']}")


class Raw:
    """A raw RESP connection, for what a request/reply client hides: pushes, pipelined waits."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, *commands):
        """Sends the commands (each a list of words) in one write: a pipeline."""
        frames = "".join(f"*{len(words)}\r\n" + "".join(f"${len(str(w).encode())}\r\n{w}\r\n" for w in words) for words in commands)
        self.sock.sendall(frames.encode())

    def call(self, *words):
        self.send(words)
        return self.read()

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode()

    def read(self):
        line = self.line()
        kind, rest = line[0], line[1:]
        if kind in "*>":
            return [self.read() for _ in range(int(rest))] if int(rest) >= 0 else None
        if kind == "$":
            if int(rest) < 0:
                return None
            while len(self.buffer) < int(rest) + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buffer += chunk
            value, self.buffer = self.buffer[:int(rest)].decode(), self.buffer[int(rest) + 2:]
            return value
        if kind == ":":
            return int(rest)
        if kind == "-":
            return redis.exceptions.ResponseError(rest)  # returned, not raised: a reply like any other
        if kind == "_":
            return None
        if kind == "%":
            return [self.read() for _ in range(2 * int(rest))]
        return rest


class Watch(Raw):
    """CFG.WATCH over a raw RESP2 connection: the reply, then one array per config event."""

    def __init__(self, port, prefix, after):
        super().__init__(port)
        reply = self.call("CFG.WATCH", prefix, after)
        if not (isinstance(reply, list) and reply[0] == "cfg.watch"):
            fail(f"CFG.WATCH answered {reply!r}")

    def events(self, until_revision, deadline_seconds=15):
        """Events until one at or past until_revision."""
        got = []
        deadline = time.monotonic() + deadline_seconds
        while not got or got[-1][2] < until_revision:
            if time.monotonic() > deadline:
                fail(f"the watch stopped at {got[-1] if got else 'nothing'}, waiting for revision {until_revision}")
            event = self.read()
            if event[0] != "cfg.event":
                fail(f"a watch sent {event!r}")
            got.append((event[1], event[2], event[3]))
        return got


def parked_acquire(ports):
    """A connection parked on a lock waits there: the command it pipelined after the acquire
    does not run until the acquire is answered (one blocked waiter per connection)."""
    holder = client(ports[0])
    retrying("SESSION.OPEN", lambda: holder.execute_command("SESSION.OPEN", 10000))
    held = holder.execute_command("LOCK.TRY", "py-park")
    parked = Raw(ports[1])
    if not isinstance(parked.call("SESSION.OPEN", 10000), int):
        fail("SESSION.OPEN on the raw connection")
    parked.send(["LOCK.ACQUIRE", "py-park", 10000], ["LOCK.TRY", "py-next"])
    observer = client(ports[2])

    def info(name):
        reply = observer.execute_command("LOCK.INFO", name)
        return fields(reply)

    until(10, "the parked acquire to queue on py-park", lambda: len(info("py-park")["waiters"]) == 1)
    time.sleep(0.3)  # not a wait for something: time for a wrongly run LOCK.TRY to land, if it would
    if info("py-next")["state"] != "free":
        fail("the LOCK.TRY pipelined behind a parked LOCK.ACQUIRE ran before the acquire was answered")
    holder.execute_command("LOCK.RELEASE", "py-park")
    granted, next_token = parked.read(), parked.read()
    if not (isinstance(granted, int) and granted > held and isinstance(next_token, int)):
        fail(f"after the release the parked connection got {granted!r}, then {next_token!r}")
    holder.close()
    observer.close()
    passed(f"a connection parked on py-park (holder token {held}) ran its next command only after its grant (token {granted})")


def lost_lock_notices(ports):
    """A holder whose lock's TTL runs out hears of it: an error to its next command on RESP2, a push
    on RESP3."""
    resp2 = Raw(ports[0])
    resp2.call("SESSION.OPEN", 30000)
    token = resp2.call("LOCK.TRY", "py-lost2", "TTL", 300)
    resp3 = Raw(ports[1])
    resp3.call("HELLO", 3)
    resp3.call("SESSION.OPEN", 30000)
    token3 = resp3.call("LOCK.TRY", "py-lost3", "TTL", 300)
    if not (isinstance(token, int) and isinstance(token3, int)):
        fail(f"LOCK.TRY with a TTL answered {token!r} and {token3!r}")
    push = resp3.read()  # arrives by itself: nothing was sent
    if not (isinstance(push, list) and push[0] == "lock" and push[1].startswith("LOCKLOST lock 'py-lost3'")):
        fail(f"RESP3: the lost lock's push was {push!r}")
    observer = client(ports[0])  # node 1's applied state: once free there, the notice is owed

    def free():
        reply = observer.execute_command("LOCK.INFO", "py-lost2")
        return fields(reply)["state"] == "free"

    until(10, "py-lost2's TTL to end the hold", free)
    notice = resp2.call("PING")
    if not (isinstance(notice, Exception) and str(notice).startswith("LOCKLOST lock 'py-lost2'")):
        fail(f"RESP2: the command after a lost lock was answered {notice!r}")
    if resp2.call("PING") != "PONG":
        fail("RESP2: the notice was given more than once")
    observer.close()
    passed(f"lost locks: RESP3 push {push[1][:48]!r}…; RESP2 error to the next command {str(notice)[:48]!r}…")


def config_watch(directory, ports):
    status = client(ports[0]).info("replication")
    leader = int(status["leader_id"])
    watched = next(i for i in range(1, len(ports) + 1) if i != leader)  # a follower: the cluster lives on
    others = [ports[i - 1] for i in range(1, len(ports) + 1) if i != watched]
    writer = client(others[0])
    first = retrying("CFG.SET", lambda: writer.execute_command("CFG.SET", "py/app/0", "v0"))
    watch = Watch(ports[watched - 1], "py/app/", first - 1)
    written = [("py/app/0", "v0", first)]
    for i in range(1, 6):
        written.append((f"py/app/{i}", f"v{i}", retrying("CFG.SET", lambda: writer.execute_command("CFG.SET", f"py/app/{i}", f"v{i}"))))
    seen = watch.events(written[-1][2])
    with open(os.path.join(directory, f"{watched}.pid")) as pid_file:
        os.kill(int(pid_file.read().strip()), signal.SIGKILL)
    for i in range(6, 12):
        written.append((f"py/app/{i}", f"v{i}", retrying("CFG.SET", lambda: writer.execute_command("CFG.SET", f"py/app/{i}", f"v{i}"))))
    resumed = Watch(others[1], "py/app/", seen[-1][2])
    seen += resumed.events(written[-1][2])
    if seen != written:
        fail(f"the watch saw {seen}, the writes were {written}")
    passed(f"a watch on node {watched} saw revisions {written[0][2]}…{seen[5][2]}, node {watched} was killed, "
           f"the watch resumed on another node from {seen[5][2]}: {len(seen)} events, none missed or repeated")


def main():
    if len(sys.argv) < 4:
        fail(__doc__)
    directory, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    sessions(ports)
    blocking_lock(ports)
    ids(ports)
    throttle(ports)
    delay_task(ports)
    parked_acquire(ports)
    lost_lock_notices(ports)
    config_watch(directory, ports)


if __name__ == "__main__":
    main()
