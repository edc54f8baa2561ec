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
/// - `heartbeat`: `commit` is min(follower's match, leader's commit), never past what it has.
public struct Message: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case propose, append, appendResponse, vote, voteResponse, preVote, preVoteResponse
        case heartbeat, heartbeatResponse
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

    public init(
        kind: Kind, from: NodeID = noNode, to: NodeID = noNode, term: Term = 0, logTerm: Term = 0,
        index: LogIndex = 0, entries: [Entry] = [], commit: LogIndex = 0, reject: Bool = false,
        rejectHint: LogIndex = 0
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
    }

    /// True for the kinds that carry a vote request or answer.
    var isVoteKind: Bool {
        switch kind {
        case .vote, .voteResponse, .preVote, .preVoteResponse: return true
        default: return false
        }
    }

    /// Bytes this message carries in entries, for flow control.
    public var entriesByteSize: Int { entries.reduce(0) { $0 + $1.byteSize } }
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
        }
        return text
    }
}
