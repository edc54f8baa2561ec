import ConclaveCore
import ConclaveRaft

/// Requests this node started for its clients that a lossy link can lose on the way: a follower
/// forwards a proposal, or asks its leader for a read index, in one message that nobody resends —
/// Raft keeps no record of a forward, and a leader that turned one away (its uncommitted bytes
/// full, a transfer under way) says nothing. Without a resend, the client waits out its whole
/// timeout for an answer that cannot come.
///
/// So the node keeps what it sent and, while the answer is still owed, sends it again after
/// `NodeConfig.resendAfterHeartbeats` heartbeat intervals, then after twice that, up to
/// `NodeConfig.resendsMax` times, to whoever leads then. A proposal that did arrive is applied
/// once all the same: the state machine answers a repeated (client, sequence) from its cache (KV
/// and coordination requests alike; a client's sequence below the last applied gets a "stale
/// sequence" refusal, so a request overtaken by later ones of the same pipeline never applies out
/// of order). A read asked twice is served once: its context is answered and forgotten on the
/// first confirmation.
///
/// A leader resends nothing of the term it leads in: what it proposed is in its own log, and a
/// read it asked is confirmed by any later heartbeat round. Once it has lost that term, what it
/// proposed may have been cut from the log, and it resends like a follower.
///
/// Bounded: at most `resendsTrackedMax` requests are kept; past it a request is sent once, as
/// before. The queues are one FIFO per attempt (each has one delay, so each stays in due order).
struct Resends {
    enum Request {
        case proposal([UInt8])
        case read(context: UInt64)
    }

    struct Pending {
        var key: RequestKey
        var request: Request
        /// The term the node was in when it sent it; and whether it led then.
        var term: Term
        var leading: Bool
        /// `NodeCore.ticks` at which it is resent.
        var dueTick: UInt64
    }

    /// One FIFO per attempt number (0: waiting for the first resend).
    var queues: [[Pending]] = []
    var heads: [Int] = []
    var count = 0
    /// Requests sent again since the node started.
    var resent: UInt64 = 0

    mutating func add(_ pending: Pending, attempt: Int) {
        while queues.count <= attempt {
            queues.append([])
            heads.append(0)
        }
        queues[attempt].append(pending)
        count += 1
    }

    /// The oldest request of `attempt` if it is due at `tick`, taken out.
    mutating func takeDue(attempt: Int, at tick: UInt64) -> Pending? {
        guard attempt < queues.count, heads[attempt] < queues[attempt].count,
              queues[attempt][heads[attempt]].dueTick <= tick else { return nil }
        let pending = queues[attempt][heads[attempt]]
        heads[attempt] += 1
        count -= 1
        if heads[attempt] == queues[attempt].count {
            queues[attempt].removeAll(keepingCapacity: true)
            heads[attempt] = 0
        } else if heads[attempt] >= 1_024 && heads[attempt] * 2 >= queues[attempt].count {
            queues[attempt].removeFirst(heads[attempt])
            heads[attempt] = 0
        }
        return pending
    }
}

extension NodeCore {
    /// Keeps a request the node just sent for its client, to send again while unanswered.
    mutating func trackForResend(_ key: RequestKey, _ request: Resends.Request) {
        guard config.resendsMax > 0, config.resendAfterHeartbeats > 0,
              resends.count < config.resendsTrackedMax else { return }
        resends.add(Resends.Pending(key: key, request: request, term: raft.term, leading: raft.role == .leader,
                                    dueTick: ticks + resendDelayTicks(attempt: 0)),
                    attempt: 0)
    }

    /// Ticks from one send of a request to the next: the base, doubled with each resend.
    func resendDelayTicks(attempt: Int) -> UInt64 {
        UInt64(config.resendAfterHeartbeats * config.raft.heartbeatTicks) << UInt64(min(attempt, 16))
    }

    /// Resends what is due and still unanswered (called on every tick).
    mutating func resendDue() {
        guard resends.count > 0 else { return }
        for attempt in 0..<config.resendsMax {
            while let pending = resends.takeDue(attempt: attempt, at: ticks) {
                guard stillOwed(pending) else { continue }
                var next = pending
                if !(raft.role == .leader && pending.leading && raft.term == pending.term) {
                    send(again: pending)
                    next.term = raft.term
                    next.leading = raft.role == .leader
                }
                guard attempt + 1 < config.resendsMax else { continue }
                next.dueTick = ticks + resendDelayTicks(attempt: attempt + 1)
                resends.add(next, attempt: attempt + 1)
            }
        }
    }

    private func stillOwed(_ pending: Resends.Pending) -> Bool {
        switch pending.request {
        case .proposal: return waiting.contains(pending.key)
        case .read(let context): return pendingReads[context] != nil
        }
    }

    /// Sends a request again through Raft (to the leader now); a refusal (no leader known, an
    /// election) leaves it for its next attempt.
    private mutating func send(again pending: Resends.Pending) {
        do throws(RaftError) {
            switch pending.request {
            case .proposal(let data): try raft.propose(data)
            case .read(let context): try raft.readIndex(context: context)
            }
            resends.resent += 1
        } catch {
            return
        }
    }

    /// Client requests this node has sent again because their answer was late (see `Resends`).
    public var requestsResent: UInt64 { resends.resent }
}
