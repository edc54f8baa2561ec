import ConclaveCore
import ConclaveCoordination
import ConclaveRaft
import ConclaveTimers

/// Client requests on a node: accepted, started (proposed, or a ReadIndex round for a get), and
/// answered by a `NodeOutput` once applied (or read) — if ever; the client decides how long to wait.
extension NodeCore {
    /// A coordination request as the node that received it proposes it: a cron task carries its
    /// first firing, a throttle take its stamp. Made by `prepare(_:at:)` only.
    public struct PreparedRequest: Sendable, Equatable {
        public let request: CoordinationRequest
    }

    /// A request the node turned away before it entered any log: it certainly did not take effect.
    public struct Refusal: Error, Sendable, Equatable {
        public var reason: String
    }

    // MARK: - Accepting

    /// A client's KV request: a read (get, exists) starts a ReadIndex round (unless
    /// `readsThroughLog`), anything else is proposed. Returns why it was refused, or nil when
    /// accepted (then a `.reply` comes when it applies, if it does). `readNumbers` numbers
    /// ReadIndex rounds: the driver keeps the counter so that it can number them across nodes
    /// (the simulator does, for its traces).
    public mutating func submit(_ request: KVRequest, readNumbers: inout UInt64, at time: NodeTime) -> String? {
        accept(RequestKey(client: request.client, sequence: request.sequence), at: time) { core in
            core.start(request, readNumbers: &readNumbers)
        }
    }

    /// A KV request the driver accepted for the node while it could not run, now started: the
    /// answer has been owed since `noteAccepted` (and may have gone already, if the entry applied
    /// meanwhile); a refusal now goes unanswered (the client times out).
    public mutating func submitAccepted(_ request: KVRequest, readNumbers: inout UInt64, at time: NodeTime) {
        guard begin(at: time) else { return }
        _ = start(request, readNumbers: &readNumbers)
        inputHandled()
    }

    /// A coordination request (session, lock, counter, fenced write, task, throttle), proposed as
    /// `prepare` made it. Returns why it was refused, or nil when accepted; a `.coordinationReply`
    /// comes when it applies (a queued acquire is answered again when granted).
    public mutating func submit(_ prepared: PreparedRequest, at time: NodeTime) -> String? {
        accept(RequestKey(client: prepared.request.client, sequence: prepared.request.sequence), at: time) { core in
            core.propose(prepared.request)
        }
    }

    /// A coordination request the driver accepted for the node while it could not run, now
    /// proposed; as `submitAccepted(_:readNumbers:at:)`.
    public mutating func submitAccepted(_ prepared: PreparedRequest, at time: NodeTime) {
        guard begin(at: time) else { return }
        _ = propose(prepared.request)
        inputHandled()
    }

    /// The driver accepted a request for this node while the node could not run (the simulator's
    /// paused node; its backlog holds the request): from now on the node owes that client an
    /// answer, even for an entry it applies before it starts the request (`submitAccepted`).
    public mutating func noteAccepted(client: UInt64, sequence: UInt64) {
        waiting.insert(RequestKey(client: client, sequence: sequence))
    }

    /// Notes that the node owes `key` an answer, starts the request, and drains what it caused;
    /// a refusal takes the debt back.
    private mutating func accept(_ key: RequestKey, at time: NodeTime, start: (inout NodeCore) -> String?) -> String? {
        guard begin(at: time) else { return "node \(id) has stopped" }
        waiting.insert(key)
        if let reason = start(&self) {
            waiting.remove(key)
            return reason
        }
        inputHandled()
        return nil
    }

    private mutating func propose(_ request: CoordinationRequest) -> String? {
        do throws(RaftError) {
            let data = request.encoded()
            try raft.propose(data)
            trackForResend(RequestKey(client: request.client, sequence: request.sequence), .proposal(data))
            return nil
        } catch {
            return error.description
        }
    }

    /// Proposes raw data (tests of the consensus layer). False if Raft refused it.
    public mutating func propose(_ data: [UInt8], at time: NodeTime) -> Bool {
        guard begin(at: time) else { return false }
        do {
            try raft.propose(data)
        } catch {
            return false
        }
        inputHandled()
        return true
    }

    // MARK: - Gets through ReadIndex

    /// Starts a request: a read (get, exists) through ReadIndex (unless `readsThroughLog`),
    /// anything else as a proposal. Returns why not, if refused.
    private mutating func start(_ request: KVRequest, readNumbers: inout UInt64) -> String? {
        do {
            if request.command.isRead, !config.readsThroughLog {
                guard pendingReads.count < config.pendingReadsMax else { return "too many reads pending" }
                readNumbers += 1
                pendingReads[readNumbers] = PendingRead(request: request, since: time.timerNanos)
                try raft.readIndex(context: readNumbers)
                trackForResend(RequestKey(client: request.client, sequence: request.sequence), .read(context: readNumbers))
            } else {
                let data = request.encoded()
                try raft.propose(data)
                trackForResend(RequestKey(client: request.client, sequence: request.sequence), .proposal(data))
            }
            return nil
        } catch {
            pendingReads[readNumbers] = nil
            return error.description
        }
    }

    /// The leader confirmed a read's index: it is served once this node has applied that far.
    mutating func readConfirmed(_ readState: ReadState) {
        guard let pending = pendingReads.removeValue(forKey: readState.context) else { return }
        readsAtIndex.append((readState.index, pending.request))
    }

    mutating func serveReads() {
        guard !readsAtIndex.isEmpty else { return }
        let applied = stateMachine.appliedIndex
        var stillWaiting: [(LogIndex, KVRequest)] = []
        for (index, request) in readsAtIndex {
            guard index <= applied,
                  let result = stateMachine.kv.readResult(of: request.command, nowMillis: stateMachine.nowMillis) else {
                stillWaiting.append((index, request))
                continue
            }
            let answer = KVStateMachine.Applied(client: request.client, sequence: request.sequence, result: result)
            if waiting.remove(RequestKey(client: request.client, sequence: request.sequence)) != nil {
                outputs.append(.reply(answer))
            }
        }
        readsAtIndex = stillWaiting
    }

    // MARK: - Preparing coordination requests

    /// Readies a coordination request the moment it reaches the node (before it is submitted,
    /// which may be later when the node is paused): a cron task's first firing is resolved
    /// against the node's wall clock, an AFTER delay is counted from the node's estimate of
    /// cluster time now, a throttle take is stamped with that estimate. Refused when a cron task
    /// cannot fire. Reads the node; changes nothing.
    public func prepare(_ request: CoordinationRequest, at time: NodeTime) -> Result<PreparedRequest, Refusal> {
        // The state machine cannot tell a client's entry under client 0 from a node's own.
        guard request.client != 0 else { return .failure(Refusal(reason: CoordinationError.reservedClient.description)) }
        var request = request
        if case .task(.schedule(var spec)) = request.command {
            if case .after(let millis) = spec.timing {
                // AFTER counts from now, not from the last clock entry (which trails now by up to
                // a clock step): the delay grows by how long ago this node learned cluster time.
                spec.timing = .after(millis: millis &+ clusterTimeLeadMillis(at: time))
            }
            switch resolveFirstFiring(of: spec, wallMillis: time.wallMillis) {
            case .success(let resolved): request.command = .task(.schedule(resolved))
            case .failure(let refusal): return .failure(refusal)
            }
        }
        return .success(PreparedRequest(request: stampedForThrottle(request, at: time)))
    }

    /// A cron task arrives without its first firing: the receiving node resolves the expression
    /// in the task's zone against its own wall clock and ties the two clocks together (the log
    /// then carries the result; see `CronTiming`). Other specs pass unchanged.
    func resolveFirstFiring(of spec: TaskSpec, wallMillis: UInt64) -> Result<TaskSpec, Refusal> {
        guard case .cron(var cron) = spec.timing, cron.firstFireMillis == 0 else { return .success(spec) }
        let expression: CronExpression
        let zone: FoundationTimeZone
        do throws(CronError) {
            expression = try CronExpression(cron.expression)
            zone = try FoundationTimeZone(identifier: cron.zone)
        } catch {
            return .failure(Refusal(reason: error.description))
        }
        let clusterNow = stateMachine.nowMillis
        cron.wallOffsetMillis = Int64(clamping: wallMillis) - Int64(clamping: clusterNow)
        guard let first = NodeScheduler.nextFire(after: clusterNow, wallOffsetMillis: cron.wallOffsetMillis, expression, in: zone)
        else {
            return .failure(Refusal(reason: "cron '\(cron.expression)' never fires after now in \(cron.zone)"))
        }
        cron.firstFireMillis = first
        var resolved = spec
        resolved.timing = .cron(cron)
        return .success(resolved)
    }
}
