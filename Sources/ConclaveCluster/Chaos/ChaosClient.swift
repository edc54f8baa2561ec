import ConclaveCore
import ConclaveCoordination
import ConclaveIDs

/// One simulated client of a chaos run. It has at most one operation in flight; it retries that
/// operation (same session and sequence number, so it takes effect at most once) on other nodes
/// until it gets an answer or its deadline passes. After an unknown outcome it goes on under a new
/// history number and session, as ../shared/HISTORY.md requires.
struct ChaosClient {
    struct InFlight {
        var operation: HistoryOperation
        var request: KVRequest
        var deadline: UInt64
        /// Some node accepted the request: it may take effect even if no answer comes.
        var everAccepted = false
    }

    let slot: Int
    var historyNumber: Int
    /// Lock clients: the session is open and trusted until this true time (a third of the TTL
    /// after the last keep-alive was sent: well inside the quorum clock's bound, which lets a lease
    /// lapse at most one clock step plus a small jitter allowance early).
    var isLockClient = false
    var sessionOpen = false
    var leaseTrustedUntil: UInt64 = 0
    var lastKeepAliveCall: UInt64 = 0
    /// Locks held, and until when the client means to hold them.
    var held: [String: UInt64] = [:]
    var coordination: CoordinationInFlight?
    /// ID clients: the node whose wall clock stamps the IDs, the generator once a worker ID is
    /// leased, which lease (grant order) it runs under, and when the lease was last renewed.
    var isIDClient = false
    var hostNode: NodeID = 1
    var generator: SnowflakeGenerator?
    var leaseEpoch = 0
    var lastRenewalCall: UInt64 = 0
    var sequence: UInt64 = 0
    var preferredNode: NodeID
    var inFlight: InFlight?
    /// Bumped whenever the client's pending timer becomes stale.
    var timerGeneration: UInt64 = 0

    /// The client's session (and request) ID: never 0, which the leader's clock uses.
    var session: UInt64 { UInt64(historyNumber) + 1 }
}

/// A lock client's request in flight: recorded in the history unless it is session upkeep.
struct CoordinationInFlight {
    var request: CoordinationRequest
    var operation: HistoryOperation?
    var deadline: UInt64
    var everAccepted = false
}

/// A pending reversal of a nemesis action.
enum NemesisUndo {
    case fault(Fault)
    case heal
}
