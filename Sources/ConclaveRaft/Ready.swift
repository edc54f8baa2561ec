import ConclaveCore

/// A batch of effects for the caller (see `Raft`'s contract and Raft+Ready).
///
/// Each piece of work is in exactly one Ready: entries, hard state, snapshot and soft state to
/// write once, committed entries to apply once, messages to send once.
public struct Ready: Sendable {
    public var softState: SoftState?
    /// Persist before sending `messagesAfterPersist` (and, synchronously, `messages`).
    public var hardState: HardState?
    /// Persist (they may replace a conflicting suffix: storage drops what follows them).
    public var entries: [Entry]
    /// Apply in order, after persisting.
    public var committedEntries: [Entry]
    /// Synchronously: send after persisting. With `RaftConfig.asyncStorageWrites`: messages that
    /// promise nothing about the disk (a leader's appends and heartbeats, read-index traffic),
    /// which may go at once, before or while this Ready's write runs.
    public var messages: [Message]
    /// A snapshot from the leader: persist it (it replaces the log) and load it into the state
    /// machine before applying `committedEntries`. On a `SnapshotReceivingStorage` its `data` is
    /// empty: the data was received into storage, and is finished and committed from there.
    public var snapshot: Snapshot?
    /// ReadIndex answers: serve the read with that context once the state machine has applied
    /// at least `index`.
    public var readStates: [ReadState]
    /// Storage failed (an I/O error): every other field is empty. Persist nothing, send nothing:
    /// stop the node, and recover it from its log on restart.
    public var storageFailure: StorageError? = nil
    /// With `RaftConfig.asyncStorageWrites` (empty otherwise): answers that promise durability
    /// (append and vote answers). Send them only once this Ready's write — and every write handed
    /// out before it — is durable; with no write here, once the earlier writes are.
    public var messagesAfterPersist: [Message] = []
    /// Names this Ready's write (snapshot, entries, hard state) for `Raft.persisted(_:)`; nil when
    /// there is nothing to write.
    public var write: WriteTicket? = nil
}

/// A write handed out in a `Ready`, as the caller acknowledges it with `Raft.persisted(_:)`.
///
/// Writes must become durable in the order they were handed out (a WAL does); acknowledging one
/// acknowledges every earlier one. The core keeps what each write held, so a late acknowledgement
/// never vouches for entries that a conflicting append has replaced since.
public struct WriteTicket: Equatable, Hashable, Sendable, Comparable {
    public let sequence: UInt64

    public static func < (left: WriteTicket, right: WriteTicket) -> Bool { left.sequence < right.sequence }
}

/// A linearizable read's position: any state at or after `index` reflects every write
/// acknowledged before the read was asked.
public struct ReadState: Equatable, Sendable {
    public var index: LogIndex
    public var context: UInt64
}

/// What the core remembers of a write handed out and not yet acknowledged.
struct WriteInFlight {
    var ticket: WriteTicket
    var snapshotIndex: LogIndex?
    /// The first and last entry written, if any.
    var firstIndex: LogIndex?
    var last: (index: LogIndex, term: Term)?
    var hardState: HardState?
}

/// A batch of committed entries handed out to apply and not yet acknowledged.
struct ApplyInFlight {
    var lastIndex: LogIndex
    var dataBytes: Int
    var memberships: [MembershipEntry]
}
