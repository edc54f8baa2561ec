/// A node's identity in a cluster. Node IDs start at 1; 0 means "none" (no leader, no vote).
public typealias NodeID = UInt64

/// A Raft term: a logical clock that only grows.
public typealias Term = UInt64

/// A position in the replicated log. Index 0 is the empty prefix; the first entry is at 1.
public typealias LogIndex = UInt64

/// "No node": the value of `vote` before voting and of `leader` when none is known.
public let noNode: NodeID = 0
