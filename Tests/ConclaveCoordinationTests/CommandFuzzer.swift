import ConclaveCore
@testable import ConclaveCoordination

/// One log entry the fuzzer makes: what it carries, and what it was made as (for the checks and
/// for the failure message).
enum FuzzEntry: CustomStringConvertible {
    /// A well-formed coordination request (entry format 2).
    case request(CoordinationRequest)
    /// A well-formed KV request (entry format 1).
    case kv(KVRequest)
    /// A coordination request's encoding cut to its first `length` bytes: it must not decode.
    case truncated(CoordinationRequest, length: Int)
    /// A coordination request's encoding with the byte at `position` replaced by `byte`.
    case corrupted(CoordinationRequest, position: Int, byte: UInt8)
    /// Bytes made at random (they may start like a request of either format).
    case garbage([UInt8])
    /// A new leader's empty entry.
    case empty
    /// A membership change: the state machine only skips its index.
    case membership

    var data: [UInt8] {
        switch self {
        case .request(let request): return request.encoded()
        case .kv(let request): return request.encoded()
        case .truncated(let request, let length): return Array(request.encoded().prefix(length))
        case .corrupted(let request, let position, let byte):
            var bytes = request.encoded()
            bytes[position] = byte
            return bytes
        case .garbage(let bytes): return bytes
        case .empty, .membership: return []
        }
    }

    /// Long names and payloads are cut, so that a failure message stays readable.
    var description: String {
        let text: String
        switch self {
        case .request(let request): text = "\(request)"
        case .kv(let request): text = "KV \(request)"
        case .truncated(let request, let length): text = "the first \(length) bytes of \(request)"
        case .corrupted(let request, let position, let byte): text = "byte \(position) set to \(byte) in \(request)"
        case .garbage(let bytes): text = "garbage bytes \(bytes)"
        case .empty: text = "an empty entry"
        case .membership: text = "a membership entry"
        }
        return CommandFuzzRun.brief(text)
    }
}

/// Makes log entries from a seed: every `CoordinationCommand`, with values at and past every stated
/// bound (`CoordinationLimits`, `TaskLimits`, the throttles' and worker leases' own), empty,
/// maximal and over-maximal names, unknown and closed sessions, the nodes' own commands from
/// clients and client commands from the nodes (client 0), sequences that repeat, go back and skip,
/// KV requests, and damaged entries (cut, corrupted, random bytes).
///
/// The generator learns from the answers (`observe`) which tokens were granted, which acquires
/// queue, which tasks and queue messages exist, so that a useful share of commands act on real
/// state rather than being refused at the door. One seed gives one sequence of entries.
struct CommandFuzzer {
    var random: SeededGenerator
    /// Cluster time as the replicas have it, set by the driver before each `next()`.
    var nowMillis: UInt64 = 0
    /// Each client's highest sequence sent (coordination and KV clients apart).
    var sequences: [UInt64: UInt64] = [:]
    var kvSequences: [UInt64: UInt64] = [:]
    /// The cursor of the last SCAN step answered (so that scans continue, not only start).
    var kvScanCursor: UInt64 = 0
    /// Recent grants (lock, token), queued acquires per client (sequence, lock), task IDs, queue
    /// messages and config revisions seen in answers.
    var grants: [(lock: String, token: UInt64)] = []
    var queued: [UInt64: [(sequence: UInt64, lock: String)]] = [:]
    var lastTaskID: UInt64 = 0
    var messageIDs: [UInt64] = []
    var configRevision: UInt64 = 0
    /// Clients whose session the answers say is open (a client without one mostly opens one).
    var openSessions: Set<UInt64> = []
    /// The entry number at which cluster time jumps to just before its end (nil: never), so that
    /// some seeds run their second part where every deadline is near the largest cluster time.
    let endOfTimeAt: Int?
    private(set) var made = 0

    init(seed: UInt64, entries: Int) {
        random = SeededGenerator(seed: seed)
        endOfTimeAt = random.chance(0.5) ? entries / 2 + Int(random.next() % UInt64(max(1, entries / 2))) : nil
    }

    mutating func next() -> FuzzEntry {
        made += 1
        if made == endOfTimeAt {
            let room = CoordinationLimits.clusterTimeMillisMax - nowMillis
            return .request(nodeRequest(.elapsed(millis: room - min(room, below(100_000)))))
        }
        switch below(1_000) {
        case 0..<100: return .request(nodeRequest(.elapsed(millis: elapsedMillis())))
        case 100..<140: return .request(nodeRequest(.task(nodeTaskCommand())))
        case 140..<155: return .request(clientRequest(nodeCommand()))
        case 155..<170: return .request(nodeRequest(clientCommand(client: 0)))
        case 170..<210: return .kv(kvRequest())
        case 210..<240: return damagedEntry()
        default:
            let client = pickClient()
            let command = !openSessions.contains(client) && chance(50) ? .openSession(ttlMillis: ttlMillis()) : clientCommand(client: client)
            return .request(request(from: client, command))
        }
    }

    /// Learns from replica 0's answer what later commands may act on.
    mutating func observe(_ entry: FuzzEntry, _ applied: CoordinationStateMachine.Applied?) {
        guard let applied else { return }
        if case .request(let request) = entry {
            switch (request.command, applied.result) {
            case (.acquire(let lock, _, _, _, _, _), .acquire(.granted(let token, _))):
                remember(grant: (lock, token))
            case (.acquire(let lock, _, _, _, _, _), .acquire(.queued)):
                var waits = queued[request.client] ?? []
                waits.append((request.sequence, lock))
                queued[request.client] = Array(waits.suffix(8))
            case (_, .task(.scheduled(let id, _))):
                lastTaskID = max(lastTaskID, id)
            case (_, .task(.messages(let messages))):
                messageIDs = Array((messageIDs + messages.map(\.id)).suffix(32))
            case (_, .configRevision(let revision)):
                configRevision = max(configRevision, revision)
            case (_, .sessionOpened), (_, .refused(.sessionExists)):
                openSessions.insert(request.client)
            case (.closeSession, .done), (_, .refused(.unknownSession)):
                openSessions.remove(request.client)
            default:
                break
            }
        }
        for case .granted(let lock, _, _, let token) in applied.events { remember(grant: (lock, token)) }
    }

    private mutating func remember(grant: (lock: String, token: UInt64)) {
        grants.append(grant)
        if grants.count > 32 { grants.removeFirst() }
    }

    // MARK: - Clients and sequences

    /// Clients 1…32 are the regulars; 33…40 may also send the largest sequence (after which every
    /// request of theirs is stale); 1,000…1,063 rarely open a session; the extremes never do on
    /// purpose.
    private mutating func pickClient() -> UInt64 {
        switch below(100) {
        case 0..<80: return 1 + below(32)
        case 80..<90: return 33 + below(8)
        case 90..<97: return 1_000 + below(64)
        default: return pick([UInt64.max, UInt64.max - 1, 1 << 63, 41])
        }
    }

    private mutating func nodeRequest(_ command: CoordinationCommand) -> CoordinationRequest {
        // The nodes' entries are never deduplicated: any sequence must do.
        CoordinationRequest(client: 0, sequence: chance(90) ? 0 : pick([1, 7, UInt64.max, random.next()]), command: command)
    }

    /// A request with the client's next sequence mostly; else a retry, one from the past, a skip
    /// ahead or (for clients that may) the largest.
    private mutating func request(from client: UInt64, _ command: CoordinationCommand) -> CoordinationRequest {
        let last = sequences[client] ?? 0
        let sequence: UInt64
        switch below(100) {
        case 0..<84: sequence = last == .max ? .max : last + 1
        case 84..<90: sequence = last
        case 90..<94: sequence = last - min(last, 1 + below(5))
        case 94..<98: sequence = last > .max - 1_000 ? .max : last + 2 + below(998)
        default: sequence = client > 32 ? pick([UInt64.max, UInt64.max - 1, random.next()]) : last + 1
        }
        sequences[client] = max(last, sequence)
        return CoordinationRequest(client: client, sequence: sequence, command: command)
    }

    /// A node-only command sent by an ordinary client, with a fresh sequence: it must be refused.
    private mutating func clientRequest(_ command: CoordinationCommand) -> CoordinationRequest {
        let client = 1 + below(32)
        let sequence = (sequences[client] ?? 0) + 1
        sequences[client] = sequence
        return CoordinationRequest(client: client, sequence: sequence, command: command)
    }

    // MARK: - Damaged entries

    /// Damaged entries come from clients 2,000…2,015 only: a corrupted sequence may leave its
    /// client with one near the largest, and no byte changed in these IDs gives a regular client.
    private mutating func damagedEntry() -> FuzzEntry {
        let client = 2_000 + below(16)
        switch below(100) {
        case 0..<35:
            let request = request(from: client, clientCommand(client: client))
            return .truncated(request, length: Int(below(UInt64(request.encoded().count))))
        case 35..<70:
            let request = request(from: client, clientCommand(client: client))
            let count = request.encoded().count
            // Header and command bytes are the interesting ones: a changed format, client, sequence or kind.
            let position = chance(50) ? Int(below(UInt64(min(count, 19)))) : Int(below(UInt64(count)))
            return .corrupted(request, position: position, byte: UInt8(truncatingIfNeeded: random.next()))
        case 70..<90:
            var bytes = (0..<below(48)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if !bytes.isEmpty, chance(70) { bytes[0] = pick([0, 1, 2, 3, 255]) }
            return .garbage(bytes)
        case 90..<95: return .empty
        default: return .membership
        }
    }

    // MARK: - Random helpers

    /// A number in 0..<bound (0 when `bound` is 0).
    mutating func below(_ bound: UInt64) -> UInt64 { bound == 0 ? 0 : random.next() % bound }

    /// True `percent` times in a hundred.
    mutating func chance(_ percent: UInt64) -> Bool { below(100) < percent }

    mutating func pick<Value>(_ options: [Value]) -> Value { options[Int(below(UInt64(options.count)))] }
}
