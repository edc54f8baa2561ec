import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveIDs
import ConclaveRaft
import ConclaveWire
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A daemon's state for the native commands: coordination requests waiting for their answers,
/// connections parked on a lock, lost-lock notices owed, config watches, and the node's own ID
/// generator. Everything on the event loop.
final class NativeState {
    struct Waiting {
        var shape: NativeCommands.Shape
        var connection: UInt64
        var deadlineNanos: UInt64
        var reply: (RESPValue) -> Void
    }

    struct Watch {
        var prefix: String
        var revision: UInt64
        var connection: ClientConnection
    }

    var waiting: [NodeDaemon.Key: Waiting] = [:]
    /// Per connection, the acquire it is parked on (one at a time: a connection waits for its reply).
    var parked: [UInt64: (lock: String, key: NodeDaemon.Key)] = [:]
    var watches: [UInt64: Watch] = [:]
    /// The config revision watches were last brought up to.
    var watchedRevision: UInt64 = 0
    /// The config revision whose member addresses the transport has (`syncMemberAddresses`).
    var memberAddressesRevision: UInt64 = .max
    var ids = NodeIDService()
    /// CLUSTER.WATCH subscribers, by connection.
    var statusWatches: [UInt64: StatusWatch] = [:]
}

/// The node's Snowflake generator: its worker ID is leased through the log under the node's own
/// client (the process's client base with connection 0) and its session, both renewed every
/// `renewMillis`; IDs are stamped with the node's wall clock and stop a safety margin before the
/// lease's deadline (`SnowflakeGenerator`), so two nodes never share a worker ID at once.
struct NodeIDService {
    static let workersMax = 32
    static let leaseMillis: UInt64 = 10_000
    static let renewMillis: UInt64 = 2_500

    var generator: SnowflakeGenerator?
    var sequence: UInt64 = 0
    var lastRenewalNanos: UInt64 = 0
    var sessionOpen = false
    var requestInFlight: (sequence: UInt64, deadlineMillis: UInt64, sentNanos: UInt64)?
    var lastRefusal: String?
    /// IDs this node has handed out, and the newest (for status reports).
    var issued: UInt64 = 0
    var lastID: UInt64?
}

extension NodeDaemon {
    // MARK: - Commands

    func executeNative(_ name: String, _ rest: [[UInt8]], on connection: ClientConnection,
                       reply: @escaping (RESPValue) -> Void) {
        switch NativeCommands.parse(name, rest) {
        case .failure(let error):
            reply(error.reply)
        case .success(.coordination(let command, let shape)):
            submitNative(command, shape: shape, on: connection, waitMillis: nil, reply: reply)
        case .success(.acquire(let command, let shape)):
            guard case .acquire(let lock, _, _, let wait?, _, _) = command else { return }
            if let key = submitNative(command, shape: shape, on: connection, waitMillis: wait, reply: reply) {
                native.parked[connection.id] = (lock, key)
            }
        case .success(.throttle(let name, let count, let period, let burst, let quantity)):
            let known = core.stateMachine.throttles.throttles[name]
            if known?.count != count || known?.periodMillis != period || known?.maxBurst != burst {
                submitNative(.throttle(.define(name: name, count: count, periodMillis: period, maxBurst: burst)), shape: .ok,
                             on: connection, waitMillis: nil) { answer in
                    if case .error = answer { reply(answer) }
                }
            }
            submitNative(.throttle(.take(name: name, quantity: quantity, stampNanos: 0)), shape: .throttle, on: connection,
                         waitMillis: nil, reply: reply)
        case .success(.attach(let session)):
            guard session != 0, core.stateMachine.sessions.contains(session) else {
                return reply(.error("NOSESSION session \(session) is not open on this node's applied state (expired, closed or never opened)"))
            }
            connection.session = session
            // Continue above any number the session's earlier connections used.
            connection.sequence = max(connection.sequence, wallMicros())
            reply(.simpleString("OK"))
        case .success(.nextIDs(let count)):
            reply(nextIDs(count))
        case .success(.decodeID(let id)):
            reply(NativeCommands.decodeReply(id))
        case .success(.lockInfo(let name)):
            reply(NativeCommands.lockInfoReply(core.stateMachine.locks.locks[name], name: name,
                                               appliedIndex: core.stateMachine.appliedIndex))
        case .success(.watch(let prefix, let after)):
            guard native.watches.count < settings.watchesMax || native.watches[connection.id] != nil else {
                return reply(.error("LIMIT this node serves at most \(settings.watchesMax) config watches"))
            }
            let revision = core.stateMachine.config.revision
            reply(.array([.bulk("cfg.watch"), .bulk(prefix), .integer(Int64(clamping: revision))]))
            native.watches[connection.id] = NativeState.Watch(prefix: prefix, revision: after, connection: connection)
            deliverWatches(force: true)
        case .success(.unwatch):
            native.watches[connection.id] = nil
            reply(.simpleString("OK"))
        case .success(.clusterStatus):
            reply(clusterStatus())
        case .success(.clusterWatch(let intervalMillis, let binary)):
            startStatusWatch(intervalMillis: intervalMillis, binary: binary, on: connection, reply: reply)
        case .success(.clusterUnwatch):
            native.statusWatches[connection.id] = nil
            reply(.simpleString("OK"))
        }
    }

    /// The client a connection acts for: the session it attached to, or its own.
    func clientID(of connection: ClientConnection) -> UInt64 {
        connection.session ?? (clientBase | connection.id)
    }

    /// Proposes `command` for the connection's client; its answer goes to `reply`. Returns the
    /// request's key while it waits, nil when it was refused (and answered) at once.
    @discardableResult
    private func submitNative(_ command: CoordinationCommand, shape: NativeCommands.Shape, on connection: ClientConnection,
                              waitMillis: UInt64?, reply: @escaping (RESPValue) -> Void) -> Key? {
        guard !stopping else {
            reply(.error("ERR node \(configuration.id) is shutting down; use another node"))
            return nil
        }
        connection.sequence += 1
        let client = clientID(of: connection)
        let key = Key(client: client, sequence: connection.sequence)
        let time = now()
        let request = CoordinationRequest(client: client, sequence: key.sequence, command: command)
        let prepared: NodeCore.PreparedRequest
        switch core.prepare(request, at: time) {
        case .success(let ready): prepared = ready
        case .failure(let refusal):
            reply(.error("ERR \(refusal.reason)"))
            return nil
        }
        if let refusal = core.submit(prepared, at: time) {
            reply(.error(Self.refusalReply(refusal, leader: core.raft.leader)))
            return nil
        }
        var shape = shape
        if case .sessionOpened = shape { shape = .sessionOpened(client) }
        let waitNanos = (waitMillis ?? 0) * 1_000_000
        native.waiting[key] = NativeState.Waiting(shape: shape, connection: connection.id,
                                                  deadlineNanos: time.timerNanos + waitNanos + settings.requestTimeoutMillis * 1_000_000,
                                                  reply: reply)
        afterInput()
        return key
    }

    /// A coordination answer for one of this node's clients (or its own ID service).
    func answerNative(client: UInt64, sequence: UInt64, result: CoordinationResult) {
        if client == clientBase {
            return idServiceAnswered(sequence: sequence, result: result)
        }
        let key = Key(client: client, sequence: sequence)
        guard let waiting = native.waiting[key], let reply = NativeCommands.reply(to: result, shape: waiting.shape) else { return }
        native.waiting[key] = nil
        if native.parked[waiting.connection]?.key == key { native.parked[waiting.connection] = nil }
        waiting.reply(reply)
    }

    /// Answers what waited past its deadline; called every tick (waiting commands are few: one
    /// per connection at a time, pipelines aside).
    func expireNative(nowNanos: UInt64) {
        guard !native.waiting.isEmpty else { return }
        for (key, waiting) in native.waiting where waiting.deadlineNanos <= nowNanos {
            native.waiting[key] = nil
            if native.parked[waiting.connection]?.key == key { native.parked[waiting.connection] = nil }
            waiting.reply(.error("TIMEOUT not answered within \(settings.requestTimeoutMillis) ms; the command may still take effect"))
        }
    }

    /// A connection closed: a parked acquire is cancelled (its place in the queue goes to the next
    /// waiter), its watches end. Its session lives on until its TTL, for SESSION.ATTACH elsewhere.
    func nativeConnectionClosed(_ connection: ClientConnection) {
        native.watches[connection.id] = nil
        native.statusWatches[connection.id] = nil
        guard let parked = native.parked.removeValue(forKey: connection.id) else { return }
        native.waiting[parked.key] = nil
        let request = CoordinationRequest(client: parked.key.client, sequence: parked.key.sequence + 1_000_000_000,
                                          command: .cancelWait(lock: parked.lock, sequence: parked.key.sequence))
        // Numbered past the connection's own: a later attach continues from the wall clock anyway.
        if case .success(let prepared) = core.prepare(request, at: now()) {
            _ = core.submit(prepared, at: now())
            afterInput()
        }
    }

    // MARK: - Lost locks

    /// A holder lost its lock (its session expired, its TTL ran out, it was revoked; not when its
    /// client closed the session) or is asked to let go: every connection of that session on this
    /// node hears of it — a push on RESP3, an error to its next command on RESP2.
    func deliverLockEvent(session: UInt64, event: LockEvent) {
        let text: String
        switch event {
        case .lost(_, _, _, .sessionClosed):
            return  // its own client closed the session: nothing to tell it
        case .lost(let lock, _, let token, let reason):
            text = "LOCKLOST lock '\(lock)' token \(token) lost: \(reason.rawValue)"
        case .revokeRequested(let lock, _, let deadline):
            text = "LOCKREVOKE lock '\(lock)' is revoked: release it before cluster time \(deadline) ms"
        case .granted, .waitEnded:
            return
        }
        for connection in clientPort.connectionsNow where clientID(of: connection) == session {
            if connection.version == .resp3 {
                connection.push?(.push([.bulk("lock"), .bulk(text)]))
            } else if connection.notices.count < 16 {
                connection.notices.append(text)
            }
        }
    }

    // MARK: - Config watches

    /// Sends each watch the config events it has not seen, from this node's applied state (as etcd
    /// serves a watch from any member): after every apply that moved the config revision.
    func deliverWatches(force: Bool = false) {
        let config = core.stateMachine.config
        guard !native.watches.isEmpty, force || config.revision != native.watchedRevision else { return }
        native.watchedRevision = config.revision
        for (id, var watch) in native.watches {
            var sent = 0
            while watch.revision < config.revision, sent < 10 {
                sent += 1
                switch config.watch(prefix: watch.prefix, after: watch.revision) {
                case .events(let events, let upTo):
                    for event in events {
                        watch.connection.push?(.push([.bulk("cfg.event"), .bulk(event.key), event.value.map(RESPValue.bulk) ?? .null,
                                                      .integer(Int64(clamping: event.revision))]))
                    }
                    watch.revision = events.count == ConfigStore.eventsPerWatchMax ? events.last!.revision : upTo
                case .compacted(let relist):
                    watch.connection.push?(.push([.bulk("cfg.compacted"), .bulk(watch.prefix), .integer(Int64(clamping: relist))]))
                    watch.revision = relist
                }
            }
            native.watches[id] = watch
        }
    }

    // MARK: - IDs

    private func nextIDs(_ count: Int) -> RESPValue {
        guard var generator = native.ids.generator else {
            let why = native.ids.lastRefusal.map { " (\($0))" } ?? ""
            return .error("TRYAGAIN node \(configuration.id) has no worker ID leased yet\(why); retry shortly")
        }
        var ids: [UInt64] = []
        ids.reserveCapacity(count)
        var result = generator.next(count: count, nowMillis: wallMillis(), appendingTo: &ids)
        // A burst past one millisecond's sequence space waits for the next millisecond (at most a
        // few: 4,096 IDs per ms per worker).
        var spins = 0
        while case .waiting(_, let until) = result, spins < 64 {
            spins += 1
            while wallMillis() < until {}
            var more: [UInt64] = []
            result = generator.next(count: count - ids.count, nowMillis: wallMillis(), appendingTo: &more)
            ids += more
        }
        native.ids.generator = generator
        native.ids.issued += UInt64(ids.count)
        if let last = ids.last { native.ids.lastID = last }
        if case .refused(_, let refusal) = result, ids.count < count {
            return .error("ERR IDs refused after \(ids.count): \(refusal)")
        }
        guard ids.count == count else { return .error("TRYAGAIN the clock did not move for 64 ms; retry") }
        return count == 1 && ids.count == 1 ? .integer(Int64(ids[0])) : .array(ids.map { .integer(Int64($0)) })
    }

    /// Every tick: opens the node's session once there is a leader, then leases (and renews) a
    /// worker ID with a deadline `leaseMillis` ahead on this node's wall clock.
    func tickIDService() {
        guard core.raft.leader != 0, !stopping else { return }
        let nowNanos = now().timerNanos
        if let inFlight = native.ids.requestInFlight {
            guard nowNanos - inFlight.sentNanos > settings.requestTimeoutMillis * 1_000_000 else { return }
            native.ids.requestInFlight = nil  // lost (a leader change): ask again
        }
        guard native.ids.generator == nil || nowNanos - native.ids.lastRenewalNanos >= NodeIDService.renewMillis * 1_000_000 else { return }
        native.ids.lastRenewalNanos = nowNanos
        let deadline = wallMillis() + NodeIDService.leaseMillis
        let command: CoordinationCommand = native.ids.sessionOpen
            ? .leaseWorker(workersMax: NodeIDService.workersMax, deadlineMillis: deadline)
            : .openSession(ttlMillis: NodeIDService.leaseMillis)
        native.ids.sequence += 1
        let request = CoordinationRequest(client: clientBase, sequence: native.ids.sequence, command: command)
        guard case .success(let prepared) = core.prepare(request, at: now()), core.submit(prepared, at: now()) == nil else { return }
        native.ids.requestInFlight = (native.ids.sequence, deadline, nowNanos)
    }

    private func idServiceAnswered(sequence: UInt64, result: CoordinationResult) {
        guard let inFlight = native.ids.requestInFlight, inFlight.sequence == sequence else { return }
        native.ids.requestInFlight = nil
        switch result {
        case .sessionOpened, .refused(.sessionExists):
            // Already open: an earlier open of this node's session applied but its answer was lost
            // (a timeout, a leader change) — the session is ours; asking again would only repeat.
            native.ids.sessionOpen = true
            native.ids.lastRenewalNanos = 0  // lease at once
        case .workerLeased(let worker, let startAfter):
            // The session is kept alive by each lease: renew it along.
            if var generator = native.ids.generator, generator.configuration.workerID == UInt64(worker) {
                generator.renewLease(expiresAtMillis: inFlight.deadlineMillis, startAfterMillis: startAfter)
                native.ids.generator = generator
            } else {
                let configuration = SnowflakeConfiguration(datacenterID: 0, workerID: UInt64(worker))
                native.ids.generator = try? SnowflakeGenerator(configuration: configuration, leaseExpiresAtMillis: inFlight.deadlineMillis,
                                                               startAfterMillis: startAfter)
                logger.info("worker ID leased", metadata: ["worker": "\(worker)", "start-after-ms": "\(startAfter)"])
            }
            keepIDSessionAlive()
        case .refused(.unknownSession):
            native.ids.sessionOpen = false
            native.ids.generator = nil
            native.ids.lastRenewalNanos = 0
        case .refused(let error):
            native.ids.lastRefusal = "\(error)"
            logger.warning("worker ID lease refused", metadata: ["reason": "\(error)"])
        default:
            break
        }
    }

    private func keepIDSessionAlive() {
        native.ids.sequence += 1
        let request = CoordinationRequest(client: clientBase, sequence: native.ids.sequence, command: .keepAlive)
        if case .success(let prepared) = core.prepare(request, at: now()) { _ = core.submit(prepared, at: now()) }
    }

    // MARK: - CLUSTER.STATUS

    private func clusterStatus() -> RESPValue {
        let status = core.raft.status()
        let machine = core.stateMachine
        let peers = transport.statistics
        var members: [RESPValue] = []
        for voter in status.voters.sorted() {
            var pairs: [(RESPValue, RESPValue)] = [(.bulk("id"), .integer(Int64(voter)))]
            if let address = peerAddresses[voter] { pairs.append((.bulk("peer_address"), .bulk("\(address)"))) }
            pairs.append((.bulk("role"), .bulk(voter == status.leader ? "leader" : voter == configuration.id ? "\(status.role)" : "voter")))
            if let follower = status.followers.first(where: { $0.node == voter }) {
                pairs.append((.bulk("match"), .integer(Int64(clamping: follower.match))))
                pairs.append((.bulk("active"), .boolean(follower.recentActive)))
            }
            if voter != configuration.id { pairs.append((.bulk("connected"), .boolean(peers[voter]?.connected ?? false))) }
            members.append(.map(pairs))
        }
        return .map([
            (.bulk("node"), .integer(Int64(configuration.id))), (.bulk("cluster"), .bulk(configuration.clusterName)),
            (.bulk("role"), .bulk("\(status.role)")), (.bulk("leader"), .integer(Int64(status.leader))),
            (.bulk("term"), .integer(Int64(clamping: status.term))), (.bulk("commit_index"), .integer(Int64(clamping: status.commit))),
            (.bulk("applied_index"), .integer(Int64(clamping: core.stateMachine.appliedIndex))),
            (.bulk("last_index"), .integer(Int64(clamping: status.lastIndex))),
            (.bulk("snapshot_index"), .integer(Int64(clamping: status.snapshotIndex))),
            (.bulk("cluster_time_ms"), .integer(Int64(clamping: machine.nowMillis))),
            (.bulk("sessions"), .integer(Int64(machine.sessions.sessions.count))),
            (.bulk("locks_held"), .integer(Int64(machine.locks.locks.values.lazy.filter { !$0.holders.isEmpty }.count))),
            (.bulk("lock_waiters"), .integer(Int64(machine.locks.locks.values.reduce(0) { $0 + $1.waiters.count }))),
            (.bulk("tasks"), .integer(Int64(machine.tasks.tasks.count))),
            (.bulk("keys"), .integer(Int64(machine.kv.values.count))),
            (.bulk("wal_fsync_p99_us"), .integer(Int64(clamping: disk().fsyncP99Micros))),
            (.bulk("members"), .array(members)),
        ])
    }

    // MARK: - Clocks

    func wallMillis() -> UInt64 { wallMicros() / 1_000 }

    /// The wall clock in microseconds, with the operator's skew (ADMIN.SKEW) as `now()` has it.
    func wallMicros() -> UInt64 {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let micros = Int64(wall.tv_sec) * 1_000_000 + Int64(wall.tv_nsec) / 1_000
        return UInt64(max(0, micros + admin.skewMillis * 1_000))
    }
}
