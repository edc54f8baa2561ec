import ConclaveCore
import ConclaveCoordination

/// One workload client of the embedded cluster: a lock client (session, keep-alives, fair blocking
/// acquires, holds, releases) or a config writer. Its requests carry (session, sequence), so a retry
/// to another node takes effect once.
struct WorkloadClient {

    struct InFlight {
        var request: CoordinationRequest
        var node: NodeID
        var sentNanos: UInt64
        var firstSentNanos: UInt64
        var permit: BreakerPermit?
    }

    let slot: Int
    var isConfigWriter: Bool
    var session: UInt64
    var generation = 0
    var sequence: UInt64 = 0
    var hasSession = false
    /// Locks held, with when the client means to release each.
    var held: [String: UInt64] = [:]
    /// The lock whose queue the client is in, if any.
    var waitingFor: String?
    var waitingSinceNanos: UInt64 = 0
    var waitingSequence: UInt64 = 0
    var inFlight: InFlight?
    var lastKeepAliveNanos: UInt64 = 0
    var timerGeneration: UInt64 = 0

    static let sessionTTLMillis: UInt64 = 3_000
    static let attemptTimeoutNanos: UInt64 = 500_000_000
    static let giveUpNanos: UInt64 = 4_000_000_000

    init(slot: Int, isConfigWriter: Bool) {
        self.slot = slot
        self.isConfigWriter = isConfigWriter
        self.session = Self.sessionID(slot: slot, generation: 0)
    }

    /// Session IDs: unique per slot and generation, and apart from console clients' (900,000+).
    static func sessionID(slot: Int, generation: Int) -> UInt64 { UInt64(1_000 + slot * 10_000 + generation) }

    /// Starts over with a fresh session (the old one's lease may be gone).
    mutating func abandon() {
        generation += 1
        session = Self.sessionID(slot: slot, generation: generation)
        sequence = 0
        hasSession = false
        held.removeAll()
        waitingFor = nil
        inFlight = nil
    }
}
