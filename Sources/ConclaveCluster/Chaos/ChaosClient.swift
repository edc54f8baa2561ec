import ConclaveCore
import ConclaveCoordination

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
    var sequence: UInt64 = 0
    var preferredNode: NodeID
    var inFlight: InFlight?
    /// Bumped whenever the client's pending timer becomes stale.
    var timerGeneration: UInt64 = 0

    var session: UInt64 { UInt64(historyNumber) }
}

/// A pending reversal of a nemesis action.
enum NemesisUndo {
    case fault(Fault)
    case heal
}
