/// Keeps one connection's commands taking effect in the order it sent them, as Redis does for a
/// pipelining client, though reads (ReadIndex) and writes (the log) travel different paths: a
/// read sent after a write must see it, and a write sent after a read must not be seen by it.
///
/// Commands of one kind run together — writes keep their order in the log (one node proposes
/// them in turn), and reads see at least the state when each arrived — so a pipeline of SETs, or
/// of GETs, is not slowed. A command of the other kind waits until every running one is answered;
/// commands behind a waiting one wait too (first in, first out). Replies leave in command order
/// anyway (the port numbers them); this orders their effects.
///
/// A command that may block (an acquire that waits for a lock) runs alone: nothing after it starts
/// until it is answered, so a connection has at most one blocked waiter and a command it pipelined
/// behind an acquire never takes effect while the acquire waits (as Redis holds a client blocked
/// in BLPOP).
///
/// Bounded by the port's `pipelineDepthMax`: a connection has at most that many commands
/// unanswered, running or held. Pure: the caller runs what `admit` and `finished` hand back.
struct CommandOrder {
    enum Kind: Equatable {
        case read, write
        /// Runs alone: after everything before it, before anything after it.
        case alone
    }

    private var runningKind: Kind?
    private(set) var running = 0
    private var held: [(kind: Kind, start: () -> Void)] = []
    private var heldHead = 0

    var heldCount: Int { held.count - heldHead }

    /// Whether a command of `kind` may start now; if not, `start` is kept and handed back by
    /// `finished` when its turn comes.
    mutating func admit(_ kind: Kind, start: @escaping () -> Void) -> Bool {
        guard heldCount == 0, mayJoin(kind) else {
            held.append((kind, start))
            return false
        }
        runningKind = kind
        running += 1
        return true
    }

    /// A running command was answered: the held commands that may start now, in order.
    mutating func finished() -> [() -> Void] {
        guard running > 0 else { return [] }
        running -= 1
        guard running == 0 else { return [] }
        runningKind = nil
        var starts: [() -> Void] = []
        while heldHead < held.count, mayJoin(held[heldHead].kind) {
            runningKind = held[heldHead].kind
            running += 1
            starts.append(held[heldHead].start)
            heldHead += 1
        }
        if heldHead == held.count {
            held.removeAll(keepingCapacity: true)
            heldHead = 0
        } else if heldHead >= 64 && heldHead * 2 >= held.count {
            held.removeFirst(heldHead)  // what was taken never outgrows what is held
            heldHead = 0
        }
        return starts
    }

    /// Whether a command of `kind` may start beside what runs now.
    private func mayJoin(_ kind: Kind) -> Bool {
        guard let runningKind else { return true }
        return runningKind == kind && kind != .alone
    }
}
