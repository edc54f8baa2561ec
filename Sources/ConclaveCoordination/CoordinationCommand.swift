import ConclaveCore
import ConclaveResilience

/// A request to the coordination services, as it travels through the log. The session a request
/// acts for is its client's: one client, one session.
public struct CoordinationRequest: Equatable, Sendable {
    public var client: UInt64
    public var sequence: UInt64
    public var command: CoordinationCommand

    public init(client: UInt64, sequence: UInt64, command: CoordinationCommand) {
        self.client = client
        self.sequence = sequence
        self.command = command
    }
}

public enum CoordinationCommand: Equatable, Sendable {
    /// Proposed by the leader only: `millis` of its monotonic clock passed since its previous one.
    case elapsed(millis: UInt64)
    case openSession(ttlMillis: UInt64)
    case keepAlive
    case closeSession
    /// `waitMillis` nil: a try-lock. `ttlMillis`: a TTL on the hold itself (SET NX PX).
    case acquire(lock: String, kind: LockKind, mode: LockMode, waitMillis: UInt64?, ttlMillis: UInt64?, lockDelayMillis: UInt64)
    case release(lock: String)
    case extend(lock: String, ttlMillis: UInt64)
    case cancelWait(lock: String, sequence: UInt64)
    case revoke(lock: String, graceMillis: UInt64)
    case increment(counter: String, by: Int64)
    case readCounter(counter: String)
    /// A write to KV key `key` guarded by the fencing token of `lock` (`put --fence NAME:TOKEN`).
    case fencedPut(key: String, value: String, lock: String, token: UInt64)
    /// Versioned configuration: set (nil value: delete), read, history, rollback, watch.
    case configSet(key: String, value: String?)
    case configGet(key: String)
    case configHistory(key: String)
    case configRollback(key: String, toRevision: UInt64)
    case configWatch(prefix: String, afterRevision: UInt64)
    /// Lease (or renew) a Snowflake worker ID for the session, valid until `deadlineMillis` on
    /// the client's own clock.
    case leaseWorker(workersMax: Int, deadlineMillis: UInt64)
    /// The delay-task scheduler: schedule, cancel, inspect, list, queues, and the nodes' own
    /// membership, claim and finish reports.
    indirect case task(TaskCommand)
    /// Cluster-wide throttles (`ThrottleTable`): define a limit, or take from it.
    case throttle(ThrottleCommand)
}

/// The answer to a coordination request.
public enum CoordinationResult: Equatable, Sendable {
    case done
    case sessionOpened(expiresAtMillis: UInt64)
    case keptAlive(expiresAtMillis: UInt64)
    case acquire(AcquireOutcome)
    case counter(Int64)
    /// A fenced write: accepted, or refused because its token is stale or was never granted.
    case fenced(accepted: Bool, reason: String)
    /// A config write's revision, a key's current version (nil: absent), its kept versions.
    case configRevision(UInt64)
    case configValue(ConfigStore.Version?)
    case configHistory([ConfigStore.Version])
    case configWatch(ConfigStore.WatchAnswer)
    /// The worker ID leased, and the time its IDs must be stamped after (0: no earlier holder).
    case workerLeased(worker: Int, startAfterMillis: UInt64)
    indirect case task(TaskResult)
    /// A cluster-wide throttle's answer to a take (GCRA, redis-cell's fields).
    indirect case throttled(CellRateDecision)
    case refused(CoordinationError)
}

extension CoordinationRequest {
    static let formatVersion: UInt8 = 2

    private enum Tag: UInt8 {
        case elapsed = 1, openSession, keepAlive, closeSession, acquire, release, extend, cancelWait, revoke
        case increment, readCounter, fencedPut
        case configSet, configGet, configHistory, configRollback, configWatch, leaseWorker
        case task
        case throttle = 40
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 48)
        writer.write(Self.formatVersion)
        writer.write(client)
        writer.write(sequence)
        switch command {
        case .elapsed(let millis): writer.write(Tag.elapsed.rawValue); writer.write(millis)
        case .openSession(let ttl): writer.write(Tag.openSession.rawValue); writer.write(ttl)
        case .keepAlive: writer.write(Tag.keepAlive.rawValue)
        case .closeSession: writer.write(Tag.closeSession.rawValue)
        case .acquire(let lock, let kind, let mode, let wait, let ttl, let delay):
            writer.write(Tag.acquire.rawValue); writer.write(lock)
            writer.write(kind.code); writer.write(kind.capacity)
            writer.write(mode)
            writer.writeOptional(wait); writer.writeOptional(ttl); writer.write(delay)
        case .release(let lock): writer.write(Tag.release.rawValue); writer.write(lock)
        case .extend(let lock, let ttl): writer.write(Tag.extend.rawValue); writer.write(lock); writer.write(ttl)
        case .cancelWait(let lock, let sequence): writer.write(Tag.cancelWait.rawValue); writer.write(lock); writer.write(sequence)
        case .revoke(let lock, let grace): writer.write(Tag.revoke.rawValue); writer.write(lock); writer.write(grace)
        case .increment(let counter, let delta): writer.write(Tag.increment.rawValue); writer.write(counter); writer.write(UInt64(bitPattern: delta))
        case .readCounter(let counter): writer.write(Tag.readCounter.rawValue); writer.write(counter)
        case .fencedPut(let key, let value, let lock, let token):
            writer.write(Tag.fencedPut.rawValue); writer.write(key); writer.write(value); writer.write(lock); writer.write(token)
        case .configSet(let key, let value): writer.write(Tag.configSet.rawValue); writer.write(key); writer.write(value)
        case .configGet(let key): writer.write(Tag.configGet.rawValue); writer.write(key)
        case .configHistory(let key): writer.write(Tag.configHistory.rawValue); writer.write(key)
        case .configRollback(let key, let revision): writer.write(Tag.configRollback.rawValue); writer.write(key); writer.write(revision)
        case .configWatch(let prefix, let revision): writer.write(Tag.configWatch.rawValue); writer.write(prefix); writer.write(revision)
        case .leaseWorker(let workers, let deadline):
            writer.write(Tag.leaseWorker.rawValue); writer.write(workers); writer.write(deadline)
        case .task(let command): writer.write(Tag.task.rawValue); writer.write(command)
        case .throttle(let command): writer.write(Tag.throttle.rawValue); command.encode(into: &writer)
        }
        return writer.bytes
    }

    /// Decodes an entry; nil when the bytes are not a well-formed request of this format.
    public init?(decoding bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard let (client, sequence) = Self.readHeader(from: &reader), let raw = reader.readByte(), let tag = Tag(rawValue: raw),
              let command = Self.decodeCommand(tag, from: &reader), reader.isAtEnd else { return nil }
        self.init(client: client, sequence: sequence, command: command)
    }

    /// What `apply` answers a request whose command does not decode.
    static let malformedCommand = "malformed command: it does not decode (unknown kind, truncated, or a field out of range); nothing was done"

    /// The client and sequence of an entry whose command may not decode; nil when not even those
    /// can be read (then there is nobody to answer).
    static func decodeHeader(_ bytes: [UInt8]) -> (client: UInt64, sequence: UInt64)? {
        var reader = ByteReader(bytes)
        return readHeader(from: &reader)
    }

    private static func readHeader(from reader: inout ByteReader) -> (client: UInt64, sequence: UInt64)? {
        guard reader.readByte() == Self.formatVersion, let client = reader.readUInt64(), let sequence = reader.readUInt64() else {
            return nil
        }
        return (client, sequence)
    }

    private static func decodeCommand(_ tag: Tag, from reader: inout ByteReader) -> CoordinationCommand? {
        switch tag {
        case .elapsed: return reader.readUInt64().map { .elapsed(millis: $0) }
        case .openSession: return reader.readUInt64().map { .openSession(ttlMillis: $0) }
        case .keepAlive: return .keepAlive
        case .closeSession: return .closeSession
        case .acquire:
            guard let lock = reader.readString(), let kindCode = reader.readByte(), let capacity = reader.readInt(),
                  let kind = LockKind(code: kindCode, capacity: capacity), let mode = reader.readMode(),
                  let wait = reader.readOptional(), let ttl = reader.readOptional(), let delay = reader.readUInt64()
            else { return nil }
            return .acquire(lock: lock, kind: kind, mode: mode, waitMillis: wait, ttlMillis: ttl, lockDelayMillis: delay)
        case .release: return reader.readString().map { .release(lock: $0) }
        case .extend:
            guard let lock = reader.readString(), let ttl = reader.readUInt64() else { return nil }
            return .extend(lock: lock, ttlMillis: ttl)
        case .cancelWait:
            guard let lock = reader.readString(), let sequence = reader.readUInt64() else { return nil }
            return .cancelWait(lock: lock, sequence: sequence)
        case .revoke:
            guard let lock = reader.readString(), let grace = reader.readUInt64() else { return nil }
            return .revoke(lock: lock, graceMillis: grace)
        case .increment:
            guard let counter = reader.readString(), let delta = reader.readUInt64() else { return nil }
            return .increment(counter: counter, by: Int64(bitPattern: delta))
        case .readCounter: return reader.readString().map { .readCounter(counter: $0) }
        case .fencedPut:
            guard let key = reader.readString(), let value = reader.readString(), let lock = reader.readString(),
                  let token = reader.readUInt64() else { return nil }
            return .fencedPut(key: key, value: value, lock: lock, token: token)
        case .configSet:
            guard let key = reader.readString(), let value = reader.readOptionalString() else { return nil }
            return .configSet(key: key, value: value)
        case .configGet: return reader.readString().map { .configGet(key: $0) }
        case .configHistory: return reader.readString().map { .configHistory(key: $0) }
        case .configRollback:
            guard let key = reader.readString(), let revision = reader.readUInt64() else { return nil }
            return .configRollback(key: key, toRevision: revision)
        case .configWatch:
            guard let prefix = reader.readString(), let revision = reader.readUInt64() else { return nil }
            return .configWatch(prefix: prefix, afterRevision: revision)
        case .leaseWorker:
            guard let workers = reader.readInt(), let deadline = reader.readUInt64() else { return nil }
            return .leaseWorker(workersMax: workers, deadlineMillis: deadline)
        case .task: return reader.readTaskCommand().map { .task($0) }
        case .throttle: return ThrottleCommand(from: &reader).map { .throttle($0) }
        }
    }
}

extension LockKind {
    var code: UInt8 {
        switch self {
        case .mutex: return 1
        case .readWrite: return 2
        case .semaphore: return 3
        }
    }

    /// Any capacity decodes (a request's is checked where it is applied, a snapshot's where it is read).
    init?(code: UInt8, capacity: Int) {
        switch code {
        case 1: self = .mutex
        case 2: self = .readWrite
        case 3: self = .semaphore(permits: capacity)
        default: return nil
        }
    }
}

extension LockMode {
    var code: UInt8 {
        switch self {
        case .exclusive: return 1
        case .shared: return 2
        case .permits: return 3
        }
    }

    init?(code: UInt8, permits: Int) {
        switch code {
        case 1: self = .exclusive
        case 2: self = .shared
        case 3: self = .permits(permits)
        default: return nil
        }
    }
}

extension CoordinationCommand {
    /// Entries only nodes propose (client 0): the leader's clock and the scheduler's membership,
    /// claims and reports. A client may send none of them, and client 0 may send nothing else.
    public var isNodeCommand: Bool {
        switch self {
        case .elapsed, .task(.members), .task(.claim), .task(.finish): return true
        default: return false
        }
    }

    /// What a node-only command is, in words (nil for a client's command).
    var nodeCommandName: String? {
        switch self {
        case .elapsed: return "a clock entry (elapsed)"
        case .task(.members): return "scheduler membership"
        case .task(.claim): return "a task claim"
        case .task(.finish): return "a task report (finish)"
        default: return nil
        }
    }
}
