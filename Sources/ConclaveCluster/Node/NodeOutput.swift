import ConclaveCore
import ConclaveCoordination
import ConclaveRaft

/// What a `NodeCore` asks of the world after an input, in the order it happened. The driver takes
/// them with `NodeCore.takeOutputs()` after every input and performs them in that order. Storage
/// has already been written when they are handed out, so every `send` may go at once.
///
/// Three kinds: effects the driver must carry out (send, answer clients, arm timers), the node
/// stopping itself, and observations (what was persisted, applied, elected, snapshotted) that a
/// driver may log or check — the simulator feeds them to its invariant monitor and trace.
public enum NodeOutput: Sendable {
    // MARK: Effects

    /// A message to a peer, already stamped with the quorum clock's round and the node's clock.
    case send(Message)
    /// The answer to a KV request this node accepted (`NodeCore.submit(_:readNumbers:at:)`).
    case reply(KVStateMachine.Applied)
    /// The answer to a coordination request this node accepted; a queued acquire is answered
    /// again, with its grant or the end of its wait.
    case coordinationReply(client: UInt64, sequence: UInt64, result: CoordinationResult)
    /// A lock holder lost its hold or is asked to let go. Emitted for every session; the driver
    /// delivers it if that session's client talks through this node.
    case lockEvent(session: UInt64, event: LockEvent)
    /// Make this callback try now, and report its answer with `NodeCore.callbackAnswered(tag:failure:at:)`
    /// (only for targets whose answer `CallbackTargets.call` could not tell in advance).
    case callback(CallbackRequest)
    /// A callback target received a call (it started; `succeeded` says how it ended).
    case callbackDelivered(CallbackDelivery)
    /// Call `NodeCore.callbackPoolDue(at:)` at this time (`NodeTime.timerNanos`): a callback try
    /// ends or a queued one starts. A later request replaces an earlier one only if it is sooner.
    case callbackPoolDue(atNanos: UInt64)
    /// Call `NodeCore.retryCallback(task:at:)` at this time (`NodeTime.timerNanos`).
    case callbackRetryDue(task: UInt64, atNanos: UInt64)

    // MARK: Stopping

    /// An I/O error (or an unreadable snapshot) stopped the node: it takes no more inputs. Drop
    /// it, keep its storage, and start a new one from that storage to recover.
    case stopped(reason: String)

    // MARK: Observations

    /// Entries were written to storage; `previousTerm` is the term before the first of them, as
    /// storage held it (nil when unknown), for log-matching checks.
    case persisted(entries: [Entry], previousTerm: Term?)
    /// An entry was applied; `digest` is the state machine's digest after it.
    case applied(Entry, digest: UInt64)
    /// The node became leader of `term`.
    case becameLeader(term: Term)
    /// A snapshot from the leader replaced the node's log and state machine.
    case snapshotInstalled(index: LogIndex, digest: UInt64)
    /// The node snapshotted its state machine at `index` and compacted its log.
    case snapshotTaken(index: LogIndex)
}
