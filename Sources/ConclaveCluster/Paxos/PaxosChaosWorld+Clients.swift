import ConclaveCore
import ConclavePaxos

/// KV clients of a Paxos chaos run, kept checkable as ../shared/HISTORY.md asks: values never
/// written before, three keys at a time retired every 300 operations, one operation in flight
/// per client, a new client number after an unknown outcome.
extension PaxosChaosWorld {
    mutating func actForClient(_ index: Int) {
        if let pending = clients[index].pending {
            if pending.deadlineMillis <= nowMillis { finishUnknown(index, commandID: pending.commandID) }
            return
        }
        guard clients[index].nextActionMillis <= nowMillis else { return }
        let command = nextCommand(for: index)
        nextCommandID += 1
        let operation = PendingOperation(command: command, commandID: nextCommandID, callNanos: nowNanos,
                                         deadlineMillis: nowMillis + requestTimeoutMillis)
        submit(operation, for: index, retries: 1)
    }

    mutating func nextCommand(for index: Int) -> PaxosKVCommand {
        operationsOnGeneration += 1
        if operationsOnGeneration > 300 {
            keyGeneration += 1
            operationsOnGeneration = 0
        }
        let key = "k\(keyGeneration)-\(Int.random(in: 0..<3, using: &random))"
        clients[index].sequence += 1
        let value = "c\(clients[index].number)-\(clients[index].sequence)"
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<4: return PaxosKVCommand(kind: .get, key: key)
        case 4..<8: return PaxosKVCommand(kind: .put, key: key, value: value)
        default: return PaxosKVCommand(kind: .cas, key: key, value: value, expected: clients[index].lastSeen[key])
        }
    }

    /// Sends the operation to the node the client believes leads. A refusal naming the leader is
    /// retried there; an operation refused outright never took effect and is left out of the
    /// history. A node that is down or paused never answers: the client times out (unknown).
    mutating func submit(_ operation: PendingOperation, for index: Int, retries: Int) {
        let target = clients[index].leaderGuess
        clients[index].pending = operation
        guard isUp(target) else {
            clients[index].leaderGuess = ids.randomElement(using: &random)!
            return
        }
        do {
            try nodes[target]!.paxos.propose(.command(id: operation.commandID, data: operation.command.bytes))
            nodes[target]!.waiting[operation.commandID] = index
            processReady(target)
        } catch .notLeader(let leader) where retries > 0 {
            clients[index].leaderGuess = leader
            submit(operation, for: index, retries: retries - 1)
        } catch {
            clients[index].pending = nil
            clients[index].nextActionMillis = nowMillis + 10
        }
    }

    mutating func finishAnswered(_ index: Int, commandID: UInt64, answer: PaxosKVStore.Answer) {
        guard let pending = clients[index].pending, pending.commandID == commandID else { return }
        let command = pending.command
        record(HistoryOperation(
            client: clients[index].number, kind: kind(of: command), key: command.key, value: command.value,
            expected: command.expected, output: command.kind == .get ? answer.output : nil, ok: answer.ok,
            call: pending.callNanos, returnTime: nowNanos))
        switch command.kind {
        case .get: clients[index].lastSeen[command.key] = answer.output
        case .put, .cas: if answer.ok { clients[index].lastSeen[command.key] = command.value }
        }
        clients[index].pending = nil
        clients[index].nextActionMillis = nowMillis + UInt64.random(in: settings.thinkMillis, using: &random)
    }

    /// Open-ended runs (the console) keep no history: their memory must stay flat.
    mutating func record(_ operation: HistoryOperation) {
        if options.recordHistory { history.append(operation) }
    }

    func pinnedProposer(of index: Int) -> NodeID? {
        settings.proposers.isEmpty ? nil : settings.proposers[index % settings.proposers.count]
    }

    /// Timed out or abandoned: the write may take effect at any time after its call, or never.
    /// A get that never answered tells nothing and is left out. The client goes on as a new one.
    mutating func finishUnknown(_ index: Int, commandID: UInt64) {
        guard let pending = clients[index].pending, pending.commandID == commandID else { return }
        let command = pending.command
        if command.kind != .get {
            record(HistoryOperation(
                client: clients[index].number, kind: kind(of: command), key: command.key, value: command.value,
                expected: command.expected, ok: true, call: pending.callNanos, returnTime: nil))
        }
        clients[index].pending = nil
        clients[index].number = nextClientNumber
        clients[index].lastSeen = [:]
        // The node it waited on may lead a minority that can never choose: try another (a
        // pinned client keeps its proposer).
        clients[index].leaderGuess = pinnedProposer(of: index) ?? ids.randomElement(using: &random)!
        nextClientNumber += 1
        clients[index].nextActionMillis = nowMillis + 1
    }

    func kind(of command: PaxosKVCommand) -> HistoryOperation.Kind {
        switch command.kind {
        case .put: return .put
        case .get: return .get
        case .cas: return .cas
        }
    }

    /// Stops the clients, lets the cluster settle with every fault healed, ends every pending
    /// operation as unknown, and checks that every replica holds the same log and KV state.
    mutating func finish() {
        healEverything()
        clientsActive = false
        for _ in 0..<3_000 { step(faultsActive: false) }
        for index in clients.indices {
            if let pending = clients[index].pending { finishUnknown(index, commandID: pending.commandID) }
        }
        let first = nodes[ids[0]]!
        replicasAgree = ids.allSatisfy { id in
            nodes[id]!.paxos.chosenThrough == first.paxos.chosenThrough && nodes[id]!.store.values == first.store.values
        }
    }
}

/// The nemesis of a Paxos chaos run: one fault at a time, healed after a while. The faults
/// themselves are the ones an operator injects (`PaxosCluster`).
extension PaxosChaosWorld {
    mutating func nemesis() {
        if let heal = healMillis, heal <= nowMillis {
            healNetwork()
            nextFaultMillis = nowMillis + UInt64.random(in: 200...1_000, using: &random)
        }
        guard healMillis == nil, nextFaultMillis <= nowMillis, let kind = options.nemesis.randomElement(using: &random) else { return }
        nextFaultMillis = nowMillis + UInt64.random(in: 1_000...3_000, using: &random)
        faultCounts[kind.rawValue, default: 0] += 1
        let lasting = UInt64.random(in: 500...2_000, using: &random)
        let victim = ids.randomElement(using: &random)!
        switch kind {
        case .partition:
            let shuffled = ids.shuffled(using: &random)
            let minority = Int.random(in: 1...max(1, (ids.count - 1) / 2), using: &random)
            partition([Array(shuffled.prefix(minority)), Array(shuffled.dropFirst(minority))], forMillis: lasting)
        case .crash: crash(victim, forMillis: lasting)
        case .pause: pause(victim, forMillis: lasting)
        case .drop: setDrop(0.05, forMillis: lasting)
        case .duplicate: setDuplicate(0.05, forMillis: lasting)
        case .delay: setDelay(20, forMillis: lasting)
        default: break
        }
    }

    /// `forMillis`: the nemesis heals it after that long; nil, it lasts until healed.
    mutating func partition(_ groups: [[NodeID]], forMillis lasting: UInt64?) {
        network.partition(groups)
        healMillis = lasting.map { nowMillis + $0 }
        trace.record(nowNanos, "fault partition \(groups)\(Self.lastingText(lasting))", hash: StableHash.key("\(groups)"))
    }

    /// Loses everything but the acceptor's persisted state; restarted after `forMillis` (nil: when asked).
    mutating func crash(_ victim: NodeID, forMillis lasting: UInt64?) {
        guard nodes[victim] != nil else { return }
        nodes[victim] = nil
        pausedUntil[victim] = nil
        crashedUntil[victim] = lasting.map { nowMillis + $0 } ?? .max
        trace.record(nowNanos, "fault crash node \(victim)\(Self.lastingText(lasting))", hash: victim)
    }

    mutating func restart(_ id: NodeID) {
        guard crashedUntil.removeValue(forKey: id) != nil else { return }
        start(id)
    }

    mutating func pause(_ victim: NodeID, forMillis lasting: UInt64) {
        guard nodes[victim] != nil else { return }
        pausedUntil[victim] = nowMillis + lasting
        trace.record(nowNanos, "fault pause node \(victim) for \(lasting)ms", hash: victim << 8)
    }

    mutating func setDrop(_ probability: Double, forMillis lasting: UInt64?) {
        network.dropProbability = probability
        healMillis = lasting.map { nowMillis + $0 }
        trace.record(nowNanos, "fault drop\(Self.lastingText(lasting))", hash: StableHash.key("drop"))
    }

    mutating func setDuplicate(_ probability: Double, forMillis lasting: UInt64?) {
        network.duplicateProbability = probability
        healMillis = lasting.map { nowMillis + $0 }
        trace.record(nowNanos, "fault duplicate\(Self.lastingText(lasting))", hash: StableHash.key("duplicate"))
    }

    mutating func setDelay(_ millisMax: UInt64, forMillis lasting: UInt64?) {
        network.extraDelayMaxNanos = millisMax * 1_000_000
        healMillis = lasting.map { nowMillis + $0 }
        trace.record(nowNanos, "fault delay\(Self.lastingText(lasting))", hash: StableHash.key("delay"))
    }

    static func lastingText(_ lasting: UInt64?) -> String { lasting.map { " for \($0)ms" } ?? "" }

    mutating func healNetwork() {
        if healMillis != nil { trace.record(nowNanos, "heal network", hash: 0) }
        network.heal()
        network.dropProbability = 0
        network.duplicateProbability = 0
        network.extraDelayMaxNanos = 0
        healMillis = nil
    }

    mutating func healEverything() {
        healNetwork()
        pausedUntil = [:]
        for id in crashedUntil.keys.sorted() { start(id) }
        crashedUntil = [:]
    }
}
