#!/usr/bin/env python3
"""redis-py (PyPI) against a Conclave cluster, through a node kill; raw sockets against a node's limits.

Usage: resp-client-test.py cluster CLUSTER_DIR PORT [PORT ...]
       resp-client-test.py limits PORT MAX_CLIENTS IDLE_SECONDS

cluster: SET/GET/MSET/MGET/SCAN/EXPIRE/TTL/INCR on every node, then 400 writes round robin while the
leader is killed with SIGKILL part-way (its pid from CLUSTER_DIR/<id>.pid); every acknowledged
write reads back from each survivor, and the acknowledged INCRs are distinct and counted.
limits: the connection limit, the idle timeout, and the protocol limits, each answered with an
error that names it. Every wait has a deadline; exits non-zero naming the first failure.
"""
import os
import signal
import socket
import sys
import time

import redis

from clienttest import fail, until


class Cluster:
    """Clients for every node; `call` retries another node while one is down or has no leader."""

    def __init__(self, ports):
        self.ports = ports
        self.clients = {port: redis.Redis(port=port, socket_timeout=8, decode_responses=True) for port in ports}
        self.down = set()

    def call(self, start, action, deadline_seconds=30):
        deadline = time.monotonic() + deadline_seconds
        attempt = 0
        while True:
            alive = [port for port in self.ports if port not in self.down]
            port = alive[(start + attempt) % len(alive)]
            try:
                return action(self.clients[port])
            except (redis.ConnectionError, redis.TimeoutError):
                pass
            except redis.ResponseError as error:
                if not str(error).startswith(("CLUSTERDOWN", "TIMEOUT", "ERR node")):
                    raise
            attempt += 1
            if time.monotonic() > deadline:
                fail(f"no node answered within {deadline_seconds} s")
            time.sleep(0.05)


def check(condition, message):
    if not condition:
        fail(message)


def basics(cluster):
    first, second, third = (cluster.clients[port] for port in cluster.ports[:3])
    first.flushdb()
    check(first.set("greeting", "hello") is True, "SET")
    check(second.get("greeting") == "hello", "GET on another node reads the write (linearizable)")
    check(first.mset({"a": "1", "b": "2", "c": "3"}) is True, "MSET")
    check(third.mget(["a", "b", "nope", "c"]) == ["1", "2", None, "3"], "MGET")
    check(first.incr("counter") == 1 and second.incr("counter", 41) == 42, "INCR/INCRBY")
    check(third.decr("counter") == 41, "DECR")
    check(first.set("temp", "x", ex=100) is True and 99 <= second.ttl("temp") <= 100, "SET EX / TTL")
    check(first.expire("a", 50) is True and 49_000 <= third.pttl("a") <= 50_000, "EXPIRE / PTTL")
    check(second.persist("a") is True and first.ttl("a") == -1, "PERSIST")
    check(first.ttl("nope") == -2, "TTL of an absent key")
    check(first.set("gone", "soon", px=300) is True, "SET PX")
    until(10, "a key set with PX 300 to expire on cluster time", lambda: second.exists("gone") == 0)
    check(first.set("a", "9", get=True) == "1", "SET GET")
    check(first.set("a", "x", nx=True) is None, "SET NX on a present key")
    check(first.getdel("a") == "9" and first.exists("a") == 0, "GETDEL")
    pipe = first.pipeline(transaction=False)
    for number in range(500):
        pipe.set(f"user:{number}", number)
    check(all(reply is True for reply in pipe.execute()), "500 pipelined SETs")
    pipe = second.pipeline(transaction=False)
    pipe.set("order", "1").get("order").set("order", "2").get("order").incr("order").get("order")
    check(pipe.execute() == [True, "1", True, "2", 3, "3"], "a pipeline's reads see its own writes, in order")
    scanned = list(third.scan_iter(match="user:*", count=7))
    check(len(scanned) == 500 and len(set(scanned)) == 500, f"SCAN MATCH returned {len(scanned)} keys, {len(set(scanned))} distinct")
    check(sorted(first.keys("user:4?")) == [f"user:4{digit}" for digit in range(10)], "KEYS pattern")
    check(second.dbsize() == 500 + 6, f"DBSIZE {second.dbsize()}")
    check(first.config_get("appendonly") == {"appendonly": "yes"}, "CONFIG GET appendonly")
    info = first.info("replication")
    check(info.get("role") in ("master", "slave") and "leader_id" in info and "term" in info, f"INFO replication {info}")
    check(int(first.info("server")["redis_version"].split(".")[0]) >= 7, "INFO server redis_version")
    try:
        first.incr("greeting")
        fail("INCR of a text value was accepted")
    except redis.ResponseError as error:
        check(str(error) == "value is not an integer or out of range", f"INCR error: {error}")
    print("PASS: redis-py SET/GET/MSET/MGET/INCR/EXPIRE/TTL/PERSIST/SCAN/KEYS/DBSIZE/pipelines on three nodes")


def leader_pid(cluster, directory):
    leader = int(cluster.call(0, lambda client: client.info("replication")["leader_id"]))
    check(leader != 0, "no leader")
    with open(os.path.join(directory, f"{leader}.pid")) as file:
        return leader, int(file.read())


def through_kill(cluster, directory):
    acknowledged = {}
    increments = []
    leader, pid = leader_pid(cluster, directory)
    for number in range(400):
        if number == 200:
            os.kill(pid, signal.SIGKILL)
            cluster.down.add(cluster.ports[leader - 1])
            print(f"killed leader {leader} (SIGKILL) after 200 writes")
        value = f"value:{number}"
        cluster.call(number, lambda client: client.set(f"kill:{number}", value))
        acknowledged[f"kill:{number}"] = value
        if number % 4 == 0:
            increments.append(cluster.call(number, lambda client: client.incr("kill:counter")))
        if number % 50 == 0:
            cluster.call(number, lambda client: client.expire(f"kill:{number}", 600))
    check(len(set(increments)) == len(increments), f"an INCR answered twice the same value: {sorted(increments)}")
    for port in cluster.ports:
        if port in cluster.down:
            continue
        client = cluster.clients[port]
        keys = list(acknowledged)
        values = client.mget(keys)
        missing = [key for key, value in zip(keys, values) if value != acknowledged[key]]
        check(not missing, f"node on port {port} misses acknowledged writes: {missing[:5]}")
        check(int(client.get("kill:counter")) >= len(increments), "the counter lost acknowledged INCRs")
        check(0 < client.ttl("kill:0") <= 600, "a TTL set before the kill survives it")
    print(f"PASS: redis-py: {len(acknowledged)} SETs and {len(increments)} INCRs acknowledged through a leader kill, all read back")


def raw(port):
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    return connection


def read_until_closed(connection, seconds=10):
    """Everything the node sends until it closes the connection (fails if it does not)."""
    connection.settimeout(seconds)
    data = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except socket.timeout:
            fail(f"the node did not close the connection within {seconds} s (received {data[:200]!r})")
        if not chunk:
            return data
        data += chunk


def limits(port, max_clients, idle_seconds):
    open_connections = [raw(port) for _ in range(max_clients)]
    for connection in open_connections:
        connection.sendall(b"PING\r\n")
        check(connection.recv(64) == b"+PONG\r\n", "PING on an allowed connection")
    extra = raw(port)
    extra.sendall(b"PING\r\n")
    refused = read_until_closed(extra)
    check(refused == f"-ERR max number of clients reached (maxclients {max_clients})\r\n".encode(), f"connection past the limit: {refused!r}")
    started = time.monotonic()
    for connection in open_connections:
        check(read_until_closed(connection, idle_seconds + 10) == b"", "an idle client is closed without a reply")
    check(time.monotonic() - started >= idle_seconds * 0.5, "closed before the idle timeout")
    for connection in open_connections:
        connection.close()
    cases = [
        (b"*1\r\n$20000000\r\n", b"invalid bulk length 20000000 (more than 16777216 bytes, proto-max-bulk-len)"),
        (b"*2000000\r\n", b"invalid multibulk length 2000000 (more than 1048576 arguments, array-elements-max)"),
        (b"x" * 70000, b"too big inline request (a line of more than 65536 bytes, inline-bytes-max)"),
        (b"*1\r\n:5\r\n", b"expected '$', got ':'"),
    ]
    for frame, reason in cases:
        connection = until(10, "a free connection slot", lambda: try_connect(port))
        connection.sendall(frame)
        answer = read_until_closed(connection)
        check(answer == b"-ERR Protocol error: " + reason + b"\r\n", f"{frame[:20]!r}: {answer!r}")
        connection.close()
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        client.set("big", "v" * ((1 << 20) + 1))
        fail("a value past value-bytes-max was stored")
    except redis.ResponseError as error:
        check("over this node's limit of 1048576 bytes (value-bytes-max)" in str(error), f"value limit: {error}")
    print(f"PASS: limits: maxclients {max_clients}, idle timeout {idle_seconds} s, bulk, multibulk, inline, value size")


def try_connect(port):
    """A connection the node keeps (not refused for the client limit), or None."""
    connection = raw(port)
    connection.sendall(b"PING\r\n")
    if connection.recv(64) == b"+PONG\r\n":
        return connection
    connection.close()
    return None


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "cluster":
        cluster = Cluster([int(port) for port in sys.argv[3:]])
        basics(cluster)
        through_kill(cluster, sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "limits":
        limits(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
