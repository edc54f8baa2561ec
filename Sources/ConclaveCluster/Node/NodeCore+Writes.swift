import ConclaveCore
import ConclaveRaft

/// The end of a background write, as the storage reports it (on its own thread). The driver hands
/// it to `NodeCore.persisted(_:at:)` on the node's thread.
public struct WriteCompletion: Sendable {
    let number: UInt64
    /// What the storage said went wrong; nil once the write is durable.
    let failure: String?
}

/// A write the node handed to its storage and whose completion it has not yet taken in.
struct PendingWrite {
    var number: UInt64
    /// Raft's name for it; nil for a Ready that wrote nothing but holds answers for earlier writes.
    var ticket: WriteTicket?
    var entries: [Entry]
    /// Answers that promise durability, stamped: they leave once this write and every earlier one
    /// is durable.
    var messages: [Message]
    var done: Bool
}

/// Writing in the background (`NodeConfig.asyncStorageWrites`, the daemon): each Ready's entries
/// and hard state go to the storage as one `save(…, onDurable:)`, and the node goes on at once —
/// it sends the Ready's other messages (a leader's appends leave while its own write syncs),
/// applies what is committed and durable here, and takes the next input. Completions come back
/// through `persisted(_:at:)` and are taken in the order the writes were made: a write's held
/// answers leave, and Raft is told, only when it and every write before it is durable.
extension NodeCore {
    /// A background write finished (the driver got `completion` from `writeCompleted`, on the
    /// storage's thread, and hands it over on the node's thread). A failed write stops the node.
    public mutating func persisted(_ completion: WriteCompletion, at time: NodeTime) {
        guard begin(at: time) else { return }
        if let failure = completion.failure {
            stop(reason: "storage: \(failure)")
            return
        }
        guard let position = pendingWrites.firstIndex(where: { $0.number == completion.number }) else { return }
        pendingWrites[position].done = true
        finishCompletedWrites()
        inputHandled()
    }

    /// Writes in flight (started and not yet taken back in).
    public var writesInFlight: Int { pendingWrites.count }

    /// Starts `ready`'s write in the background. A leader's snapshot is installed first, at once
    /// (it replaces the log and the state machine, and is rare); the entries and hard state follow
    /// as one save. Returns false (the node stopped) when installing the snapshot fails.
    mutating func startWrite(_ ready: Ready, leading: Bool) -> Bool {
        if let snapshot = ready.snapshot {
            do {
                try install(snapshot)
            } catch {
                stop(reason: "storage: \(error)")
                return false
            }
        }
        let number = nextWriteNumber
        nextWriteNumber += 1
        let saves = !ready.entries.isEmpty || ready.hardState != nil
        // A hard state that only moved the commit index is written without a sync and counts as
        // done at once; a vote, a term or an entry is a promise and waits for its sync.
        let commitOnly = ready.entries.isEmpty && ready.snapshot == nil && ready.hardState.map {
            $0.term == savedHardState.term && $0.vote == savedHardState.vote
        } == true
        let held = ready.messagesAfterPersist.map { stamped($0, asLeader: leading) }
        pendingWrites.append(PendingWrite(number: number, ticket: ready.write, entries: ready.entries, messages: held,
                                          done: !saves || commitOnly))
        guard saves else { return true }
        guard let asyncStorage, let writeCompleted else {
            preconditionFailure("node \(id): asyncStorageWrites without an asynchronous storage and a writeCompleted handler")
        }
        if let hardState = ready.hardState { savedHardState = hardState }
        let report: @Sendable ((any Error)?) -> Void = { error in
            writeCompleted(WriteCompletion(number: number, failure: error.map { "\($0)" }))
        }
        if commitOnly, let hardState = ready.hardState {
            // Only a failure is reported (it stops the node); success needs no hop back.
            asyncStorage.saveCommit(hardState) { error in if error != nil { report(error) } }
        } else {
            asyncStorage.save(hardState: ready.hardState, entries: ready.entries, onDurable: report)
        }
        return true
    }

    /// Takes in the writes at the head of the queue that are done: reports what was persisted,
    /// sends their held answers, and acknowledges them to Raft.
    mutating func finishCompletedWrites() {
        while let first = pendingWrites.first, first.done {
            pendingWrites.removeFirst()
            if let firstEntry = first.entries.first {
                let previousTerm = try? storage.term(at: firstEntry.index - 1)
                outputs.append(.persisted(entries: first.entries, previousTerm: previousTerm))
            }
            for message in first.messages { outputs.append(.send(message)) }
            if let ticket = first.ticket { raft.persisted(ticket) }
        }
    }
}
