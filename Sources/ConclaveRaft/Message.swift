import ConclaveCore

/// A message between Raft peers (or a proposal entering the state machine).
///
/// One flat struct, as in etcd-io/raft: which fields mean what depends on `kind`.
/// - `append`: `index`/`logTerm` name the entry before `entries`; `commit` is the leader's commit.
/// - `appendResponse`: `index` is the last index the follower now matches, or, with `reject`, the
///   `index` that did not match, and `rejectHint`/`logTerm` the follower's guess at the conflict
///   (its largest index ≤ the probe whose term ≤ the leader's term there), so the leader skips a
///   whole term per round trip instead of one entry.
/// - `vote`/`preVote`: `index`/`logTerm` describe the candidate's last entry.
/// - `heartbeat`: `commit` is min(follower's match, leader's commit), never past what it has;
///   `context` numbers the leader's heartbeat round (from 1 each term) and the response echoes it:
///   a quorum of echoes confirms the ReadIndex requests queued before that round.
/// - `snapshot`: one chunk of InstallSnapshot in `chunk`; `snapshotResponse`: `index` is the
///   snapshot's index and `rejectHint` the byte offset the follower expects next (equal to the
///   size once installed, with `reject` false).
/// - `readIndex` (follower → leader) and `readIndexResponse` (with `index`): `context` is the
///   requester's own tag, carried back untouched; the leader matches nothing by it.
/// - `timeoutNow`: the leader hands over; the target campaigns at once (`transfer` set on its votes).
public struct Message: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case propose, append, appendResponse, vote, voteResponse, preVote, preVoteResponse
        case heartbeat, heartbeatResponse
        case snapshot, snapshotResponse, readIndex, readIndexResponse, timeoutNow
    }

    public var kind: Kind
    public var from: NodeID
    public var to: NodeID
    public var term: Term
    public var logTerm: Term
    public var index: LogIndex
    public var entries: [Entry]
    public var commit: LogIndex
    public var reject: Bool
    public var rejectHint: LogIndex
    /// ReadIndex: identifies a read request across the messages that serve it.
    public var context: UInt64
    /// Vote requests of a leadership transfer, which voters honour even inside a leader's lease.
    public var transfer: Bool
    public var chunk: SnapshotChunk?
    /// Not Raft's: the node runtime's quorum clock rides along on every message (a leader's probe
    /// round, or a voter's answer to one with its monotonic clock reading; see `QuorumClock` in
    /// ConclaveCluster). The core never reads or sets them; 0 means none.
    public var clockRound: UInt64 = 0
    public var clockNanos: UInt64 = 0

    public init(
        kind: Kind, from: NodeID = noNode, to: NodeID = noNode, term: Term = 0, logTerm: Term = 0,
        index: LogIndex = 0, entries: [Entry] = [], commit: LogIndex = 0, reject: Bool = false,
        rejectHint: LogIndex = 0, context: UInt64 = 0, transfer: Bool = false, chunk: SnapshotChunk? = nil
    ) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.reject = reject
        self.rejectHint = rejectHint
        self.context = context
        self.transfer = transfer
        self.chunk = chunk
    }

}

extension Message {
    /// An answer that vouches for this node's durable state — an acknowledged append (entries and
    /// commit index), a vote (term and vote): it may leave only once the writes before it are
    /// durable (etcd-io/raft holds the same kinds back until its storage append completes).
    /// Everything else (a leader's appends and heartbeats, heartbeat answers, read-index traffic,
    /// snapshot chunk acknowledgements) promises nothing about the disk and may leave at once.
    public var promisesDurability: Bool {
        switch kind {
        case .appendResponse, .voteResponse, .preVoteResponse: return true
        default: return false
        }
    }
}

extension Message: CustomStringConvertible {
    public var description: String {
        var text = "\(from)->\(to) \(kind) t\(term)"
        switch kind {
        case .append:
            text += " prev=\(index)/t\(logTerm) n=\(entries.count) commit=\(commit)"
        case .appendResponse:
            text += reject ? " reject index=\(index) hint=\(rejectHint)/t\(logTerm)" : " index=\(index)"
        case .vote, .preVote:
            text += " last=\(index)/t\(logTerm)"
        case .voteResponse, .preVoteResponse:
            text += reject ? " rejected" : " granted"
        case .heartbeat:
            text += " commit=\(commit)"
        case .heartbeatResponse, .propose:
            if !entries.isEmpty { text += " n=\(entries.count)" }
        case .snapshot:
            if let chunk { text += " snap=\(chunk.index)/t\(chunk.term) bytes \(chunk.offset)+\(chunk.data.count)/\(chunk.totalBytes)" }
        case .snapshotResponse:
            text += " snap=\(index) next=\(rejectHint)\(reject ? " reject" : "")"
        case .readIndex, .readIndexResponse:
            text += " ctx=\(context) index=\(index)"
        case .timeoutNow:
            break
        }
        return text
    }
}

/// One piece of a snapshot in transit. Chunks go in order; the follower assembles them and
/// installs the snapshot when the last byte arrives.
public struct SnapshotChunk: Equatable, Sendable {
    public var index: LogIndex
    public var term: Term
    public var voters: [NodeID]
    public var learners: [NodeID]
    public var offset: Int
    public var totalBytes: Int
    public var data: [UInt8]

    public init(index: LogIndex, term: Term, voters: [NodeID], learners: [NodeID], offset: Int, totalBytes: Int, data: [UInt8]) {
        self.index = index
        self.term = term
        self.voters = voters
        self.learners = learners
        self.offset = offset
        self.totalBytes = totalBytes
        self.data = data
    }
}
