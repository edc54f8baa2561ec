import ConclaveCluster
import ConclaveCore
import ConclaveWire
import Foundation
import Synchronization

/// What every client thread of a process-chaos run heard, under one lock: the history, and what
/// the history format has no place for (counter increments, Snowflake IDs).
final class ChaosLedger: Sendable {
    typealias IssuedID = ServiceChecks.IssuedID

    struct State: Sendable {
        var operations: [HistoryOperation] = []
        var ids: [IssuedID] = []
        /// INCRs answered, and the values they answered (each must be new).
        var increments: [Int64] = []
        /// INCRs whose outcome is unknown: each may or may not have counted.
        var unknownIncrements = 0
        /// The counter read after the final heal.
        var finalCounter: Int64?
        var keys: Set<String> = []
        var nextClient = 0
        var unknowns = 0
        /// Refused before taking effect (CLUSTERDOWN, a follower's refusal): left out of the history.
        var refused = 0
    }

    let state = Mutex(State())

    /// A client number never used before (after an unknown outcome a client goes on under a new one).
    func newClient() -> Int { state.withLock { $0.nextClient += 1; return $0.nextClient } }

    func record(_ operation: HistoryOperation) {
        state.withLock {
            $0.operations.append(operation)
            if !operation.kind.isLockOperation { $0.keys.insert(operation.key) }
        }
    }
}


/// One client of a process-chaos run, on its own thread: a connection to one node (any node serves
/// any key; followers forward), blocking calls with a timeout, one operation at a time — KV
/// registers (SET, GET, compare-and-set as an EVAL script), a lock with fencing tokens
/// (LOCK.ACQUIRE / RELEASE in a session), a counter (INCR) and Snowflake IDs (ID.NEXT). An answer
/// it cannot know (timeout, connection lost, TIMEOUT reply) ends this client number: the operation
/// is recorded with no return, a lock it may hold is recorded as `expire`, and it goes on under a
/// new number with a new connection and session.
final class ProcessChaosClient: @unchecked Sendable {  // used by its own thread only
    static let keysPerGeneration = 4
    static let locks = 2
    /// Keys and locks are retired for fresh ones this often, so each stays checkable (HISTORY.md).
    static let generationMillis: UInt64 = 3_000
    static let sessionTTLMillis = 5_000
    static let acquireWaitMillis: UInt64 = 500
    static let casScript = "local v = redis.call('GET', KEYS[1]) if v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
    static let casAbsentScript = "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) return 1 end return 0"

    let addresses: [PeerAddress]
    let token: String
    let ledger: ChaosLedger
    let startNanos: UInt64
    let stopNanos: UInt64
    let timeoutMillis: Int
    private var random: SeededGenerator
    private var client: Int
    private var node: Int
    private var connection: RESPClient?
    private var holding: String?
    private var sequence = 0
    private var lastKeepAliveNanos: UInt64 = 0
    private var lastSeen: [String: String] = [:]

    init(index: Int, seed: UInt64, addresses: [PeerAddress], token: String, ledger: ChaosLedger, startNanos: UInt64,
         stopNanos: UInt64, timeoutMillis: Int = 2_000) {
        self.addresses = addresses
        self.token = token
        self.ledger = ledger
        self.startNanos = startNanos
        self.stopNanos = stopNanos
        self.timeoutMillis = timeoutMillis
        random = SeededGenerator(seed: seed, stream: 0xC11E47 &+ UInt64(index))
        client = ledger.newClient()
        node = index % addresses.count
    }

    func run() {
        while BenchClock.nanoseconds() < stopNanos {
            guard connected() else {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            keepSessionAlive()
            if let lock = holding {
                release(lock)
            } else {
                step()
            }
        }
        if let lock = holding, connection != nil { release(lock) }
        connection = nil
    }

    // MARK: - Connection and session

    /// A connection with AUTH and an open session, to this client's node or the next one up.
    private func connected() -> Bool {
        if connection != nil { return true }
        for attempt in 0..<addresses.count {
            let target = (node + attempt) % addresses.count
            guard let candidate = try? RESPClient(addresses[target], timeoutMillis: timeoutMillis),
                  case .simpleString("OK")? = try? candidate.call(["AUTH", token]),
                  case .integer? = try? candidate.call(["SESSION.OPEN", "\(Self.sessionTTLMillis)"]) else { continue }
            node = target
            connection = candidate
            lastKeepAliveNanos = BenchClock.nanoseconds()
            return true
        }
        node = (node + 1) % addresses.count
        return false
    }

    private func keepSessionAlive() {
        let now = BenchClock.nanoseconds()
        guard now - lastKeepAliveNanos > 1_000_000_000, let connection else { return }
        lastKeepAliveNanos = now
        switch try? connection.call(["SESSION.KEEPALIVE"]) {
        case .integer?: break
        default: abandon(mayHold: holding, at: now)  // the session may be gone: start over
        }
    }

    /// This client number ends: a lock it may hold is left to lease expiry (`expire`), and the
    /// client goes on under a new number, a new connection and a new session.
    private func abandon(mayHold lock: String?, at call: UInt64) {
        if let lock {
            var expire = HistoryOperation(client: ledger.newClient(), kind: .expire, key: lock, call: call, returnTime: nil)
            expire.holder = client
            ledger.record(expire)
        }
        holding = nil
        connection = nil
        lastSeen.removeAll()
        client = ledger.newClient()
        node = (node + 1) % addresses.count
    }

    // MARK: - Operations

    private enum Outcome {
        case reply(RESPValue)
        case unknown
        case refused
    }

    /// One call: an answer, an unknown outcome (no answer in time, connection lost, or a TIMEOUT
    /// reply that says it may still take effect), or a refusal that certainly did not take effect.
    private func perform(_ arguments: [String]) -> Outcome {
        guard let connection else { return .refused }
        do {
            let reply = try connection.call(arguments)
            if case .error(let text) = reply {
                if text.hasPrefix("TIMEOUT") { return .unknown }
                if text.hasPrefix("NOTOWNER") { return .reply(reply) }
                ledger.state.withLock { $0.refused += 1 }
                if text.hasPrefix("NOSESSION") { self.connection = nil }
                return .refused
            }
            return .reply(reply)
        } catch {
            return .unknown
        }
    }

    private var generation: UInt64 { (BenchClock.nanoseconds() - startNanos) / (Self.generationMillis * 1_000_000) }

    private func step() {
        sequence += 1
        let draw = random.next() % 100
        let generation = self.generation
        switch draw {
        case 0..<45:
            let key = "chaos:k\(random.next() % UInt64(Self.keysPerGeneration))#\(generation)"
            let kind = random.next() % 100
            if kind < 45 { put(key) } else if kind < 80 { get(key) } else { compareAndSet(key) }
        case 45..<70:
            acquire("chaos:lock/\(random.next() % UInt64(Self.locks))#\(generation)")
        case 70..<85:
            increment()
        default:
            nextID()
        }
    }

    /// Runs `operation` as the call `arguments`. An answer `answered` accepts (filling in what it
    /// says) is recorded with its return time; an unknown outcome is recorded without one (but a
    /// get's is left out: it tells nothing) and ends this client number — a lock it may hold then
    /// is `mayHold`; a refusal, or an answer `answered` rejects, is left out.
    private func run(_ operation: HistoryOperation, _ arguments: [String], mayHold lock: String? = nil,
                     answered: (RESPValue, inout HistoryOperation) -> Bool) {
        var operation = operation
        switch perform(arguments) {
        case .reply(let reply):
            guard answered(reply, &operation) else { return }
            operation.returnTime = BenchClock.nanoseconds()
            ledger.record(operation)
        case .unknown:
            if operation.kind != .get { ledger.record(operation) }
            ledger.state.withLock { $0.unknowns += 1 }
            abandon(mayHold: lock ?? holding, at: operation.call)
        case .refused:
            if operation.kind == .release { abandon(mayHold: lock, at: operation.call) }
        }
    }

    private func put(_ key: String) {
        let value = "c\(client)-\(sequence)"
        let operation = HistoryOperation(client: client, kind: .put, key: key, value: value, call: BenchClock.nanoseconds())
        run(operation, ["SET", key, value]) { reply, _ in
            guard reply == .simpleString("OK") else { return false }
            lastSeen[key] = value
            return true
        }
    }

    private func get(_ key: String) {
        run(HistoryOperation(client: client, kind: .get, key: key, call: BenchClock.nanoseconds()), ["GET", key]) { reply, operation in
            switch reply {
            case .bulkString(let bytes): operation.output = String(decoding: bytes, as: UTF8.self)
            case .null: operation.output = nil
            default: return false
            }
            lastSeen[key] = operation.output
            return true
        }
    }

    /// Compare-and-set as a script (Redis has no CAS; every Redis lock library does this in Lua):
    /// from the value this client last saw, or from absent.
    private func compareAndSet(_ key: String) {
        let value = "c\(client)-\(sequence)"
        let expected = lastSeen[key]
        let operation = HistoryOperation(client: client, kind: .cas, key: key, value: value, expected: expected,
                                         call: BenchClock.nanoseconds())
        let arguments = expected.map { ["EVAL", Self.casScript, "1", key, $0, value] } ?? ["EVAL", Self.casAbsentScript, "1", key, value]
        run(operation, arguments) { reply, operation in
            guard case .integer(let swapped) = reply else { return false }
            operation.ok = swapped == 1
            lastSeen[key] = swapped == 1 ? value : nil
            return true
        }
    }

    private func acquire(_ lock: String) {
        let operation = HistoryOperation(client: client, kind: .acquire, key: lock, waitMillis: Self.acquireWaitMillis,
                                         call: BenchClock.nanoseconds())
        run(operation, ["LOCK.ACQUIRE", lock, "\(Self.acquireWaitMillis)"], mayHold: lock) { reply, operation in
            switch reply {
            case .integer(let token):
                operation.token = UInt64(token)
                holding = lock
            case .null:
                operation.ok = false  // the wait ran out
            default:
                return false
            }
            return true
        }
    }

    private func release(_ lock: String) {
        let operation = HistoryOperation(client: client, kind: .release, key: lock, call: BenchClock.nanoseconds())
        run(operation, ["LOCK.RELEASE", lock], mayHold: lock) { reply, operation in
            switch reply {
            case .simpleString("OK"): break
            case .error: operation.ok = false  // NOTOWNER: the lease ran out first
            default: return false
            }
            holding = nil
            return true
        }
        if holding == lock, connection != nil { abandon(mayHold: lock, at: operation.call) }  // an answer it could not read
    }

    private func increment() {
        switch perform(["INCR", "chaos:counter"]) {
        case .reply(.integer(let value)):
            ledger.state.withLock { $0.increments.append(value) }
        case .unknown:
            ledger.state.withLock { $0.unknownIncrements += 1 }
            unknown(at: BenchClock.nanoseconds())
        default:
            break
        }
    }

    private func nextID() {
        let call = BenchClock.nanoseconds()
        let count = 1 + Int(random.next() % 3)
        switch perform(count == 1 ? ["ID.NEXT"] : ["ID.NEXT", "\(count)"]) {
        case .reply(let reply) where Self.ids(in: reply) != nil:
            let returned = BenchClock.nanoseconds()
            let ids = Self.ids(in: reply) ?? []
            ledger.state.withLock { state in
                for id in ids { state.ids.append(ChaosLedger.IssuedID(node: node + 1, id: id, call: call, returned: returned)) }
            }
        case .unknown:
            unknown(at: call)
        default:
            break
        }
    }

    /// ID.NEXT's answer: one integer, or an array of them (with a count).
    static func ids(in reply: RESPValue) -> [UInt64]? {
        switch reply {
        case .integer(let id): return [UInt64(id)]
        case .array(let values):
            let ids = values.compactMap { value -> UInt64? in
                if case .integer(let id) = value { return UInt64(id) }
                return nil
            }
            return ids.count == values.count ? ids : nil
        default: return nil
        }
    }

    /// An unknown outcome on a KV, counter or ID call: this client number ends (a lock it holds is
    /// left to expiry).
    private func unknown(at call: UInt64) {
        ledger.state.withLock { $0.unknowns += 1 }
        abandon(mayHold: holding, at: call)
    }
}
