import ConclaveCore
import ConclaveRaft

/// Raft's safety properties, checked as the simulation runs (after every applied entry and every
/// election), so a violation is caught at the step that caused it, with its virtual time.
///
/// - Election safety: at most one leader per term.
/// - State machine safety: every node applies the same entry (same term) at each index, and
///   reaches the same state-machine digest there.
/// - Leader completeness: a new leader holds every entry any node has applied.
public struct InvariantMonitor: Sendable {
    /// Violations kept; past this the count still grows but the text is not stored.
    public static let violationsKept = 100

    private var leaderOfTerm: [Term: NodeID] = [:]
    /// For index `appliedBase + k + 1` (at k): the term of the entry applied there, and the digest
    /// after it. Indexes at or below `appliedBase` were let go (see `windowEntries`).
    private var applied: [(term: Term, digest: UInt64)] = []
    private var appliedBase = 0
    /// Entries checked behind the highest applied index (nil: the whole run). With a window the
    /// monitor's memory is bounded — for open-ended runs like the console's — and the checks cover
    /// the last `windowEntries` indexes: an entry older than that is no longer compared.
    let windowEntries: Int?

    public init(windowEntries: Int? = nil) {
        self.windowEntries = windowEntries.map { max(1, $0) }
    }
    public private(set) var violations: [String] = []
    public private(set) var violationCount = 0

    public var isSafe: Bool { violationCount == 0 }
    /// Applied indexes held for comparison (bounded by twice the window, when there is one).
    public var retainedEntries: Int { applied.count }
    /// The highest index any node has applied.
    public var highestApplied: LogIndex { LogIndex(appliedBase + applied.count) }

    mutating func leaderElected(_ node: NodeID, term: Term, log raft: Raft, at time: UInt64) {
        if let other = leaderOfTerm[term], other != node {
            record("two leaders in term \(term): \(other) and \(node)", at: time)
        }
        leaderOfTerm[term] = node
        for (offset, expected) in applied.enumerated() {
            let index = LogIndex(appliedBase + offset + 1)
            guard let found = raft.term(at: index) else {
                // Not held: compacted into the leader's snapshot is fine; past its log is not.
                if index > raft.lastIndex {
                    record("leader \(node) of term \(term) lacks applied index \(index) (its last index is \(raft.lastIndex))", at: time)
                    return
                }
                continue
            }
            if found != expected.term {
                record("leader \(node) of term \(term) has term \(found) at applied index \(index), expected \(expected.term)", at: time)
                return
            }
        }
    }

    mutating func entryApplied(_ entry: Entry, by node: NodeID, digest: UInt64, at time: UInt64) {
        let position = Int(entry.index) - 1 - appliedBase
        if position < 0 { return }  // behind the window
        if position == applied.count {
            applied.append((entry.term, digest))
            trimWindow()
        } else if position < applied.count {
            let expected = applied[position]
            if expected.term != entry.term {
                record("node \(node) applied term \(entry.term) at index \(entry.index); another applied term \(expected.term)", at: time)
            } else if expected.digest != digest {
                record("node \(node)'s state machine diverged at index \(entry.index)", at: time)
            }
        } else {
            record("node \(node) applied index \(entry.index) before anyone applied \(appliedBase + applied.count + 1)", at: time)
        }
    }

    /// Past twice the window, lets go of everything but the last `windowEntries` applied indexes
    /// and the log-matching records below them (amortized O(1) per entry).
    private mutating func trimWindow() {
        guard let window = windowEntries, applied.count >= 2 * window else { return }
        let drop = applied.count - window
        applied.removeFirst(drop)
        appliedBase += drop
        let floor = LogIndex(appliedBase)
        predecessorTerm = predecessorTerm.filter { $0.key.index > floor }
    }

    /// Log matching, inductively: two logs holding an entry with the same index and term hold the
    /// same entry before it. Tracks the predecessor's term per (index, term) persisted anywhere,
    /// for up to `logMatchingEntriesMax` distinct entries (the stated bound on this check).
    public static let logMatchingEntriesMax = 2_000_000
    private var predecessorTerm: [IndexAndTerm: Term] = [:]

    struct IndexAndTerm: Hashable {
        var index: LogIndex
        var term: Term
    }

    mutating func entriesPersisted(_ entries: [Entry], previousTerm: Term?, by node: NodeID, at time: UInt64) {
        var previous = previousTerm
        for entry in entries {
            defer { previous = entry.term }
            guard let previous else { continue }
            let key = IndexAndTerm(index: entry.index, term: entry.term)
            if let known = predecessorTerm[key] {
                if known != previous {
                    record("log matching: node \(node) holds \(entry.index)/t\(entry.term) after term \(previous); another node after term \(known)", at: time)
                }
            } else if predecessorTerm.count < Self.logMatchingEntriesMax {
                predecessorTerm[key] = previous
            }
        }
    }

    /// A node installed a snapshot at `index`: its state must be what appliers reached there.
    mutating func snapshotInstalled(index: LogIndex, digest: UInt64, by node: NodeID, at time: UInt64) {
        let position = Int(index) - 1 - appliedBase
        guard position >= 0, position < applied.count else { return }
        if applied[position].digest != digest {
            record("node \(node) installed a snapshot at \(index) whose state differs from what was applied there", at: time)
        }
    }

    mutating func record(_ violation: String, at time: UInt64) {
        violationCount += 1
        if violations.count < Self.violationsKept {
            violations.append("t=\(time / 1_000_000)ms: \(violation)")
        }
    }
}
