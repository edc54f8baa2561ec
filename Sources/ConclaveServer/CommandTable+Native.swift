/// Conclave's own commands in the `COMMAND` table (README "Native commands" has their reply
/// shapes), so redis-cli shows their arguments as hints and `COMMAND DOCS` describes them.
extension CommandTable {
    private static func native(_ name: String, _ arity: Int, _ flags: [String], _ group: String, _ summary: String,
                               keys: (Int, Int, Int) = (0, 0, 0), _ arguments: [Argument] = []) -> CommandSpec {
        CommandSpec(name: name, arity: arity, flags: flags, keys: keys, group: group, summary: summary, since: "0.1.0",
                    arguments: arguments)
    }

    private static let acquireOptions: [Argument] = [
        Argument(name: "ttl-ms", type: "integer", token: "TTL", optional: true),
        Argument(name: "delay-ms", type: "integer", token: "DELAY", optional: true),
    ]
    private static let readOrWrite = Argument.oneOf("mode", optional: false, [.flag("READ"), .flag("WRITE")])

    static let native: [CommandSpec] = sessions + locks + services

    private static let sessions: [CommandSpec] = [
        native("session.open", 2, ["write"], "session", "Opens a session for this connection; it expires unless kept alive.",
               [.integer("ttl-ms")]),
        native("session.keepalive", 1, ["write", "fast"], "session", "Keeps this connection's session alive; answers its new expiry."),
        native("session.close", 1, ["write"], "session", "Closes this connection's session; its locks are released."),
        native("session.attach", 2, ["fast"], "session", "Acts for an open session from this connection (after a reconnect).",
               [.integer("session-id")]),
    ]

    private static let locks: [CommandSpec] = [
        native("lock.try", -2, ["write", "fast"], "lock", "Takes a mutex if free; answers its fencing token or nil.",
               [.string("name")] + acquireOptions),
        native("lock.acquire", -3, ["write", "blocking"], "lock",
               "Takes a mutex, waiting in a fair queue up to the timeout; answers its fencing token or nil.",
               [.string("name"), .integer("timeout-ms")] + acquireOptions),
        native("lock.release", 2, ["write", "fast"], "lock", "Releases a mutex this session holds.", [.string("name")]),
        native("lock.renew", 3, ["write", "fast"], "lock", "Gives a held mutex a new TTL.", [.string("name"), .integer("ttl-ms")]),
        native("lock.info", 2, ["readonly"], "lock", "The lock's holders, tokens and waiters, as this node applied them.",
               [.string("name")]),
        native("rwlock.try", -3, ["write", "fast"], "lock", "Takes a read/write lock if it fits; answers its fencing token or nil.",
               [.string("name"), readOrWrite] + acquireOptions),
        native("rwlock.acquire", -4, ["write", "blocking"], "lock", "Takes a read/write lock, waiting up to the timeout.",
               [.string("name"), readOrWrite, .integer("timeout-ms")] + acquireOptions),
        native("rwlock.release", 2, ["write", "fast"], "lock", "Releases a read/write lock.", [.string("name")]),
        native("rwlock.renew", 3, ["write", "fast"], "lock", "Gives a held read/write lock a new TTL.", [.string("name"), .integer("ttl-ms")]),
        native("rwlock.info", 2, ["readonly"], "lock", "The read/write lock's holders and waiters.", [.string("name")]),
        native("semaphore.try", -4, ["write", "fast"], "lock", "Takes permits of a semaphore if free.",
               [.string("name"), .integer("permits"), .integer("count")] + acquireOptions),
        native("semaphore.acquire", -5, ["write", "blocking"], "lock", "Takes permits of a semaphore, waiting up to the timeout.",
               [.string("name"), .integer("permits"), .integer("count"), .integer("timeout-ms")] + acquireOptions),
        native("semaphore.release", 2, ["write", "fast"], "lock", "Returns this session's permits.", [.string("name")]),
        native("semaphore.renew", 3, ["write", "fast"], "lock", "Gives held permits a new TTL.", [.string("name"), .integer("ttl-ms")]),
        native("semaphore.info", 2, ["readonly"], "lock", "The semaphore's holders and waiters.", [.string("name")]),
        native("fenced.set", 5, ["write", "denyoom"], "lock", "Writes a key unless a later fencing token of the lock already wrote.",
               keys: (1, 1, 1), [.key(), .string("value"), .string("lock"), .integer("token")]),
    ]

    private static let services: [CommandSpec] = [
        native("id.next", -1, ["fast"], "id", "Snowflake IDs from this node's generator (its worker ID leased through the log).",
               [.integer("count", optional: true)]),
        native("id.decode", 2, ["fast"], "id", "An ID's timestamp, datacenter, worker and sequence.", [.integer("id")]),
        native("throttle", -5, ["write", "denyoom", "fast"], "throttle",
               "GCRA rate limiting in redis-cell's CL.THROTTLE shape: limited, limit, remaining, retry after, reset after.",
               keys: (1, 1, 1), [.key(), .integer("max_burst"), .integer("count_per_period"), .integer("period_seconds"),
                                 .integer("quantity", optional: true)]),
        native("sched.add", -5, ["write", "denyoom"], "sched", "Schedules a delay task into a queue or onto a callback.", [
            .string("name"),
            .oneOf("timing", optional: false, [.integer("ms", token: "AFTER"), .integer("cluster-ms", token: "AT"),
                                                Argument(name: "cron", type: "block", token: "CRON",
                                                         arguments: [.string("expression"), .string("zone")])]),
            .oneOf("target", optional: false, [.string("queue", token: "QUEUE"), .string("callback", token: "CALLBACK")]),
            .string("payload", token: "PAYLOAD", optional: true), .string("idempotency-key", token: "KEY", optional: true),
            .integer("timeout-ms", token: "TIMEOUT", optional: true), .integer("attempts", token: "RETRIES", optional: true),
            .integer("backoff-ms", token: "BACKOFF", optional: true),
        ]),
        native("sched.cancel", 2, ["write"], "sched", "Cancels a scheduled task.", [.integer("task-id")]),
        native("sched.get", 2, ["readonly"], "sched", "A task's state, timing, target and counts.", [.integer("task-id")]),
        native("sched.list", -1, ["readonly"], "sched", "Tasks by ID, after an ID.",
               [.integer("after-id", optional: true), .integer("count", optional: true)]),
        native("queue.pop", -2, ["write"], "sched", "Takes fired messages from a queue, hidden until acknowledged or the visibility ends.",
               [.string("queue"), .integer("count", optional: true), .integer("visibility-ms", optional: true)]),
        native("queue.ack", 3, ["write", "fast"], "sched", "Acknowledges a popped message: its task succeeded.",
               [.string("queue"), .integer("message-id")]),
        native("cfg.set", 3, ["write", "denyoom"], "config", "Writes a config key; answers the new revision.",
               keys: (1, 1, 1), [.key(), .string("value")]),
        native("cfg.del", 2, ["write"], "config", "Deletes a config key; answers the new revision.", keys: (1, 1, 1), [.key()]),
        native("cfg.get", 2, ["readonly"], "config", "A config key's revision and value, or nil.", keys: (1, 1, 1), [.key()]),
        native("cfg.history", 2, ["readonly"], "config", "Every kept version of a config key.", keys: (1, 1, 1), [.key()]),
        native("cfg.rollback", 3, ["write"], "config", "Writes a config key's value as of a revision again.",
               keys: (1, 1, 1), [.key(), .integer("revision")]),
        native("cfg.watch", -2, ["pubsub"], "config",
               "Streams changes under a prefix from a revision (RESP3 pushes; arrays on RESP2).",
               [.string("prefix"), .integer("from-revision", optional: true)]),
        native("cfg.unwatch", 1, ["pubsub"], "config", "Ends this connection's watch."),
        native("cluster.status", 1, ["readonly", "loading", "stale"], "cluster",
               "Members, roles, terms, indexes and the leader, as this node sees them."),
        native("cluster.watch", -1, ["pubsub", "loading", "stale"], "cluster",
               "Streams this node's status report (JSON) every interval (RESP3 pushes; arrays on RESP2).",
               [.integer("interval-ms", optional: true), .string("format", optional: true)]),
        native("cluster.unwatch", 1, ["pubsub"], "cluster", "Ends this connection's status stream."),
    ]
}
