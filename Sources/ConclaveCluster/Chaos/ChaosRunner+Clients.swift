import ConclaveCore
import ConclaveCoordination

extension ChaosRunner {
    func clientTimerFired(_ slot: Int) {
        if clients[slot].isLockClient {
            lockClientTimerFired(slot)
            return
        }
        guard let inFlight = clients[slot].inFlight else {
            if !stopping { startOperation(slot) }
            return
        }
        callFailed(slot)
        if simulator.now >= inFlight.deadline {
            giveUp(slot)
        } else {
            attempt(slot)
        }
    }

    /// Picks a key and an operation; every written value is new (client and sequence in it).
    private func startOperation(_ slot: Int) {
        let keySlot = Int(random.next() % UInt64(options.keysLive))
        keyOperations[keySlot] += 1
        if keyOperations[keySlot] > options.keyLifetimeOperations {
            keyEpochs[keySlot] += 1
            keyOperations[keySlot] = 1
        }
        let key = "k\(keySlot)-\(keyEpochs[keySlot])"
        clients[slot].sequence += 1
        let client = clients[slot]
        let value = "c\(client.historyNumber)-\(client.sequence)"
        let now = simulator.now
        let roll = random.next() % 100
        let command: KVCommand
        var operation = HistoryOperation(client: client.historyNumber, kind: .get, key: key, call: now)
        switch roll {
        case 0..<35:
            command = .put(key: key, value: value)
            operation.kind = .put
            operation.value = value
        case 35..<70:
            command = .get(key: key)
        case 70..<90:
            let expected = random.next() % 4 == 0 ? nil : lastSeenValue[key]
            command = .compareAndSwap(key: key, expected: expected, value: value)
            operation.kind = .cas
            operation.expected = expected
            operation.value = value
        default:
            command = .delete(key: key)
            operation.kind = .delete
        }
        let request = KVRequest(client: client.session, sequence: client.sequence, command: command)
        clients[slot].inFlight = .init(operation: operation, request: request, deadline: now + options.operationTimeoutNanos)
        routeNewCall(slot)
        attempt(slot)
    }

    /// Sends the in-flight request to the preferred node; on refusal, tries the next node soon.
    private func attempt(_ slot: Int) {
        guard let inFlight = clients[slot].inFlight else { return }
        if followUp(submitRouted(slot) { simulator.submit(inFlight.request, to: $0) }, slot: slot) {
            clients[slot].inFlight?.everAccepted = true
        }
    }

    /// What every client does after sending: wait one attempt's time for the answer if the node
    /// accepted, else move to the next node and try again soon. Returns whether it was accepted.
    func followUp(_ submission: Simulator.Submission, slot: Int) -> Bool {
        switch submission {
        case .accepted:
            scheduleClient(slot, after: options.attemptTimeoutNanos)
            return true
        case .refused:
            callFailed(slot)
            scheduleClient(slot, after: 10_000_000 + random.next() % 20_000_000)
            return false
        }
    }

    /// The operation's deadline passed with no answer. If no node ever accepted it, it certainly
    /// did not happen and is left out; otherwise its outcome is unknown and the client moves to a
    /// new history number and session.
    private func giveUp(_ slot: Int) {
        guard let inFlight = clients[slot].inFlight else { return }
        clients[slot].inFlight = nil
        if inFlight.everAccepted {
            var operation = inFlight.operation
            operation.returnTime = nil
            record(operation)
            clients[slot].historyNumber = nextHistoryNumber
            clients[slot].sequence = 0
            nextHistoryNumber += 1
        }
        scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
    }

    func handleReply(from node: NodeID, _ applied: KVStateMachine.Applied) {
        guard let slot = clients.firstIndex(where: {
            $0.session == applied.client && $0.inFlight?.request.sequence == applied.sequence
        }), var operation = clients[slot].inFlight?.operation else { return }
        if case .rejected = applied.result { return }
        operation.returnTime = simulator.now
        switch applied.result {
        case .value(let value):
            operation.output = value
            if let value { lastSeenValue[operation.key] = value }
        case .swapped(let swapped):
            operation.ok = swapped
            if swapped, let value = operation.value { lastSeenValue[operation.key] = value }
        case .written:
            if let value = operation.value { lastSeenValue[operation.key] = value }
        case .rejected, .notSet, .integer, .count, .script, .values, .keys, .scanPage:
            break  // rejected is returned above; the others answer commands the chaos clients never send
        }
        record(operation)
        if healed && operation.ok { succeededAfterHeal += 1 }
        clients[slot].inFlight = nil
        callAnswered(slot, by: node)
        scheduleClient(slot, after: random.next() % max(1, options.thinkNanosMax))
    }

    func record(_ operation: HistoryOperation) {
        if operation.returnTime == nil {
            tally.unknown += 1
        } else if operation.ok {
            tally.succeeded += 1
        } else {
            tally.failed += 1
        }
        if options.recordHistory { history.append(operation) }
    }

    /// At the end of a run: operations still waiting are given up on (unknown if accepted).
    func abandonInFlight() {
        for slot in clients.indices where clients[slot].inFlight != nil { giveUp(slot) }
        for slot in clients.indices { settleCancel(slot) }
        for slot in clients.indices where clients[slot].coordination != nil {
            if clients[slot].coordination!.everAccepted, var operation = clients[slot].coordination!.operation {
                operation.returnTime = nil
                record(operation)
            }
            clients[slot].coordination = nil
        }
    }

    func nextNode(after node: NodeID) -> NodeID {
        node % NodeID(simulator.nodeIDs.count) + 1
    }

    /// After the run: one more client reads every key in play (and every fence key the lock mix
    /// wrote) through the log, so a lost acknowledged write shows up as a stale read in the history.
    func finalReads() {
        let reader = nextHistoryNumber
        nextHistoryNumber += 1
        var sequence: UInt64 = 0
        let keys = (0..<options.keysLive).map { "k\($0)-\(keyEpochs[$0])" } + lockMix.fenceKeys.sorted()
        for key in keys {
            sequence += 1
            let request = KVRequest(client: UInt64(reader), sequence: sequence, command: .get(key: key))
            let call = simulator.now
            if let output = readUntilAnswered(request) {
                history.append(HistoryOperation(client: reader, kind: .get, key: key, output: output,
                                                call: call, returnTime: simulator.now))
            }
        }
    }

    /// The value read, once some node answers (nil outer: no answer within 10 s).
    private func readUntilAnswered(_ request: KVRequest) -> String?? {
        var node = simulator.leader ?? 1
        let deadline = simulator.now + 10_000_000_000
        while simulator.now < deadline {
            if case .accepted = simulator.submit(request, to: node) {
                let attemptDeadline = simulator.now + options.attemptTimeoutNanos
                while let output = simulator.nextOutput(until: attemptDeadline) {
                    if case .reply(_, let applied) = output, applied.client == request.client,
                       applied.sequence == request.sequence, case .value(let value) = applied.result {
                        return .some(value)
                    }
                }
            } else {
                simulator.run(for: 20_000_000)
            }
            node = simulator.leader ?? nextNode(after: node)
        }
        return nil
    }
}
