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
    /// Lock-mix clients (`--workload locks`): what they hold, the locks their session asked for
    /// (whose holds an expire may free), the cancel of a queued wait, and tokens of holds they
    /// released or lost (for stale fenced writes).
    var isLockMixClient = false
    var holds: [String: LockMixHold] = [:]
    var touchedLocks: Set<String> = []
    var cancelling: CoordinationInFlight?
    var pastTokens: [(lock: String, token: UInt64)] = []
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
    /// A blocking acquire answered "queued": the node that holds the wait (its final answer comes
    /// from there), and when to stop waiting for it and ask again.
    var queuedAt: NodeID?
    var retryAt: UInt64 = 0
    /// When to send a cancel of the wait (nil: none planned or already sent); the cancel's `.done`.
    var cancelAt: UInt64?
    var cancelConfirmed = false
}

/// A lock a lock-mix client holds: the lock's slot, how, its tokens (a semaphore holder asking
/// again holds once more under a new token; the oldest goes first), the releases still owed, and
/// when it means to let go.
struct LockMixHold {
    var slot: Int
    var mode: LockMode
    var tokens: [UInt64]
    var count: Int
    var releaseAt: UInt64
}

/// What the lock mix keeps across clients: each slot's lock name epoch and operations on it, the
/// fence keys written, and the highest token a write to each landed with (as clients heard).
struct LockMixState {
    var epochs: [Int]
    var operations: [Int]
    var fenceKeys: Set<String> = []
    var fenceHighest: [String: UInt64] = [:]

    init(slots: Int) {
        epochs = Array(repeating: 0, count: slots)
        operations = Array(repeating: 0, count: slots)
    }
}

/// A pending reversal of a nemesis action.
enum NemesisUndo {
    case fault(Fault)
    case heal
}
