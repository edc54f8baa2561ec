import ConclaveCluster
import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import ConclaveWire
import NIOCore

/// A daemon's operator state for ADMIN.*: the clock skew, a pause in progress with the commands
/// held for it, and the one leadership or membership change it waits for. On the event loop.
final class AdminState {
    /// Added to the wall clock `NodeDaemon.now()` reads (ADMIN.SKEW).
    var skewMillis: Int64 = 0
    var pause: (sinceNanos: UInt64, untilNanos: UInt64)?
    /// Client commands that came during a pause, run in order when it ends.
    var held: [() -> Void] = []
    /// DROP rules set so far: the derived seed of the next one uses it.
    var dropRules: UInt64 = 0
    var change: AdminChange?

    /// Commands held during a pause, all connections together; past this they are refused.
    static let heldCommandsMax = 10_000
    /// How long a membership change may take (a learner catching up included).
    static let membershipMillisMax: UInt64 = 30_000
}

/// A leadership or membership change this node started and answers once it is done.
struct AdminChange {
    enum Goal: CustomStringConvertible {
        case leader(NodeID)
        /// The member's address is being written to the log; the learner is added once it applied here.
        case address(NodeID, PeerAddress)
        case learner(NodeID)
        case voter(NodeID)
        case removed(NodeID)

        var description: String {
            switch self {
            case .leader(let node): return "node \(node) to lead"
            case .address(let node, let address): return "node \(node)'s address \(address) to be recorded in the log"
            case .learner(let node): return "node \(node) to join as a learner and catch up"
            case .voter(let node): return "node \(node) to become a voter"
            case .removed(let node): return "node \(node) to be removed"
            }
        }
    }

    var goal: Goal
    var from: NodeID
    var deadlineNanos: UInt64
    var answer: (RESPValue) -> Void
}

extension NodeDaemon {
    /// ADMIN.*: refused without a cluster token or before AUTH; acts at once (not in the
    /// connection's order, so an operator is never stuck behind a command that waits for a
    /// quorum the fault took away); the answer says what changed and is logged at notice level.
    func executeAdmin(_ name: String, _ arguments: [[UInt8]], on connection: ClientConnection,
                      reply: @escaping (RESPValue) -> Void) {
        let line = ([name] + arguments.dropFirst().prefix(40).map { String(decoding: $0.prefix(64), as: UTF8.self) }).joined(separator: " ")
        let answer: (RESPValue) -> Void = { [logger, remote = connection.remote] value in
            logger.notice("admin", metadata: ["command": "\(line)", "client": "\(remote)", "result": "\(Self.logText(value))"])
            reply(value)
        }
        guard configuration.token != nil else {
            return answer(.error("ERR ADMIN commands need the cluster token: start the node with --token-file"))
        }
        guard connection.authenticated else {
            return answer(.error("NOAUTH ADMIN commands need an authenticated connection: AUTH <cluster token> first"))
        }
        let command: AdminCommand
        switch AdminCommands.parse(name, Array(arguments.dropFirst())) {
        case .failure(let error): return answer(error.reply)
        case .success(let parsed): command = parsed
        }
        guard !stopping else { return answer(.error("ERR node \(configuration.id) is shutting down")) }
        if command.needsCore, let pause = admin.pause {
            let left = (pause.untilNanos - min(pause.untilNanos, now().timerNanos)) / 1_000_000
            return answer(.error("ERR node \(configuration.id) is paused for \(left) ms more; ADMIN.PAUSE 0 resumes it"))
        }
        run(command, answer: answer)
    }

    private func run(_ command: AdminCommand, answer: @escaping (RESPValue) -> Void) {
        let me = configuration.id
        do throws(RESPError) {
            switch command {
            case .partition(let nodes):
                let peers = try checkedPeers(nodes)
                transport.faults.partition(peers)
                answer(.simpleString("OK node \(me) now drops peer messages to and from \(Self.list(peers))"))
            case .heal(let nodes):
                let peers = nodes.isEmpty ? allPeers : try checkedPeers(nodes)
                transport.faults.heal(peers)
                let left = transport.faults.links.isEmpty ? "no link rules left" : "rules left: " + transport.faults.descriptions.joined(separator: "; ")
                answer(.simpleString("OK node \(me) healed its links to \(Self.list(peers)); \(left)"))
            case .drop(let percent, let nodes, let given):
                let peers = nodes.isEmpty ? allPeers : try checkedPeers(nodes)
                admin.dropRules += 1
                let seed = given ?? StableHash.mix(UInt64(me) << 32 | admin.dropRules)
                transport.faults.drop(percent: percent, seed: seed, peers)
                answer(.simpleString(percent == 0 ? "OK node \(me) no longer drops messages to and from \(Self.list(peers))"
                    : "OK node \(me) now drops \(percent)% of peer messages to and from \(Self.list(peers)) (seed \(seed))"))
            case .delay(let millis, let nodes):
                let peers = nodes.isEmpty ? allPeers : try checkedPeers(nodes)
                transport.faults.delay(millis: millis, peers)
                answer(.simpleString(millis == 0 ? "OK node \(me) no longer delays messages to \(Self.list(peers))"
                    : "OK node \(me) now delays each peer message to \(Self.list(peers)) by \(millis) ms"))
            case .pause(let seconds):
                answer(.simpleString(pause(seconds: seconds)))
            case .skew(let millis):
                let before = admin.skewMillis
                admin.skewMillis = millis
                answer(.simpleString("OK node \(me)'s wall clock skew is now \(Self.signed(millis)) ms (was \(Self.signed(before)) ms)"))
            case .transferLeader(let target):
                try startChange(.leader(target), within: settings.requestTimeoutMillis, answer: answer) { core, time throws(RaftError) in
                    try core.transferLeadership(to: target, at: time)
                }
            case .addMember(let node, let address):
                let known = peerAddresses[node]
                guard let target = address ?? known else {
                    throw RESPError("ERR node \(node) has no known peer address; give it: ADMIN.ADD-MEMBER \(node) host:port "
                        + "(then start it with --join)")
                }
                if target == known {
                    try startChange(.learner(node), within: AdminState.membershipMillisMax, answer: answer) { core, time throws(RaftError) in
                        try core.proposeConfChange(.addLearner(node), at: time)
                    }
                } else {
                    try recordAddress(of: node, target, answer: answer)
                }
            case .removeMember(let node):
                try startChange(.removed(node), within: AdminState.membershipMillisMax, answer: answer) { core, time throws(RaftError) in
                    try core.proposeConfChange(.remove(node), at: time)
                }
            case .snapshot:
                let taken = core.snapshotNow(at: now())
                afterInput()  // performs a stop the snapshot's I/O error caused
                guard let index = taken else {
                    throw RESPError("ERR node \(me) stopped: \(core.stopReason ?? "unknown reason")")
                }
                answer(.integer(Int64(clamping: index)))
            case .faults:
                answer(.array(faultLines.map { .bulk($0) }))
            case .diskFaultSync:
                fileSystem.failNextSync()
                answer(.simpleString("OK node \(me)'s next sync fails with EIO: it will stop (exit 74) without acknowledging what that sync held"))
            }
        } catch {
            answer(error.reply)
        }
    }

    // MARK: - Peers

    private var allPeers: [NodeID] { peerAddresses.keys.filter { $0 != configuration.id }.sorted() }

    /// The nodes named, if each is a peer of this node.
    private func checkedPeers(_ nodes: [NodeID]) throws(RESPError) -> [NodeID] {
        let peers = allPeers
        for node in nodes where !peers.contains(node) {
            throw RESPError(node == configuration.id
                ? "ERR node \(node) is this node; name its peers: \(Self.list(peers))"
                : "ERR node \(node) is not a peer of node \(configuration.id) (its peers: \(Self.list(peers)))")
        }
        return nodes.sorted()
    }


    /// An admin reply as one log line: its text, its number, or its lines joined.
    static func logText(_ value: RESPValue) -> String {
        switch value {
        case .simpleString(let text), .error(let text): return text
        case .integer(let number): return "\(number)"
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .array(let lines): return lines.isEmpty ? "(none)" : lines.map(logText).joined(separator: "; ")
        default: return "\(value)"
        }
    }

    static func list(_ nodes: [NodeID]) -> String { nodes.isEmpty ? "none" : nodes.map(String.init).joined(separator: ", ") }

    static func signed(_ millis: Int64) -> String { millis > 0 ? "+\(millis)" : "\(millis)" }

    /// ADMIN.FAULTS: every rule in force on this node, one line each.
    var faultLines: [String] {
        var lines = transport.faults.descriptions.map { "link " + $0 }
        if admin.skewMillis != 0 { lines.append("skew \(Self.signed(admin.skewMillis)) ms") }
        if let pause = admin.pause {
            let left = (pause.untilNanos - min(pause.untilNanos, now().timerNanos)) / 1_000_000
            lines.append("paused, \(left) ms left, \(admin.held.count) commands held")
        }
        if let change = admin.change { lines.append("waiting for \(change.goal)") }
        return lines
    }

    /// INFO server's lines for the operator's faults.
    var adminInfoFields: [(String, String)] {
        [("clock_skew_ms", "\(admin.skewMillis)"), ("wall_clock_ms", "\(now().wallMillis)"),
         ("paused", admin.pause == nil ? "0" : "1"), ("link_fault_rules", "\(transport.faults.links.count)")]
    }

    // MARK: - Pause

    private func pause(seconds: Int) -> String {
        let me = configuration.id
        let nowNanos = now().timerNanos
        guard seconds > 0 else {
            guard admin.pause != nil else { return "OK node \(me) was not paused" }
            return "OK node \(me) " + resume(at: nowNanos)
        }
        let since = admin.pause?.sinceNanos ?? nowNanos
        admin.pause = (since, nowNanos + UInt64(seconds) * 1_000_000_000)
        transport.faults.paused = true
        return "OK node \(me) paused for \(seconds) s: no ticks, no peer messages, client commands held until it resumes"
    }

    /// Ends the pause: Raft first gets the ticks it missed (`NodeCore.catchUp`: a leader's lease
    /// cannot outlive the pause), then peers are heard again and the held commands run in order.
    @discardableResult
    private func resume(at nowNanos: UInt64) -> String {
        guard let pause = admin.pause else { return "was not paused" }
        admin.pause = nil
        transport.faults.paused = false
        let pausedNanos = nowNanos - min(nowNanos, pause.sinceNanos)
        giveMissedTicks(at: now())
        afterInput()
        let held = admin.held
        admin.held.removeAll()
        let summary = "resumed after \(pausedNanos / 1_000_000) ms paused; \(held.count) held commands run now"
        logger.notice("admin: \(summary)")
        for command in held { command() }
        return summary
    }

    /// Whether the node ticks now: false while paused; a pause that is over ends here.
    func adminAllowsTick() -> Bool {
        if let pause = admin.pause {
            let nowNanos = now().timerNanos
            guard nowNanos >= pause.untilNanos else { return false }
            resume(at: nowNanos)
        }
        checkChange()
        return true
    }

    /// While paused, a client command is held (true) to run when the pause ends, or refused when
    /// too many are held; false when the node is not paused.
    func holdWhilePaused(_ command: @escaping () -> Void, reply: (RESPValue) -> Void) -> Bool {
        guard admin.pause != nil else { return false }
        guard admin.held.count < AdminState.heldCommandsMax else {
            reply(.error("BUSY node \(configuration.id) is paused (ADMIN.PAUSE) with \(AdminState.heldCommandsMax) commands held; retry later"))
            return true
        }
        admin.held.append(command)
        return true
    }

    // MARK: - Leadership and membership

    private func startChange(_ goal: AdminChange.Goal, within millis: UInt64, answer: @escaping (RESPValue) -> Void,
                             _ propose: (inout NodeCore, NodeTime) throws(RaftError) -> Void) throws(RESPError) {
        if let change = admin.change {
            throw RESPError("ERR node \(configuration.id) is still waiting for \(change.goal); one leadership or membership change at a time")
        }
        let time = now()
        do {
            try propose(&core, time)
        } catch {
            throw RESPError("ERR node \(configuration.id): \(error)")
        }
        afterInput()
        admin.change = AdminChange(goal: goal, from: core.raft.leader, deadlineNanos: time.timerNanos + millis * 1_000_000, answer: answer)
    }

    /// Writes a new member's address to the replicated config (`MemberAddresses`) through the log;
    /// `checkChange` adds the learner once the write applied here and the transport has the peer.
    private func recordAddress(of node: NodeID, _ address: PeerAddress, answer: @escaping (RESPValue) -> Void) throws(RESPError) {
        if let change = admin.change {
            throw RESPError("ERR node \(configuration.id) is still waiting for \(change.goal); one leadership or membership change at a time")
        }
        guard core.raft.role == .leader else {
            throw RESPError("ERR node \(configuration.id) is not the leader (node \(core.raft.leader) is); send ADMIN.ADD-MEMBER there")
        }
        if let holder = peerAddresses.first(where: { $0.value == address && $0.key != node }) {
            throw RESPError("ERR \(address) is node \(holder.key)'s peer address")
        }
        native.ids.sequence += 1
        let request = CoordinationRequest(client: clientBase, sequence: native.ids.sequence,
                                          command: .configSet(key: MemberAddresses.key(node), value: "\(address)"))
        let time = now()
        switch core.prepare(request, at: time) {
        case .success(let prepared):
            if let refusal = core.submit(prepared, at: time) { throw RESPError(Self.refusalReply(refusal, leader: core.raft.leader)) }
        case .failure(let refusal):
            throw RESPError("ERR \(refusal.reason)")
        }
        afterInput()
        admin.change = AdminChange(goal: .address(node, address), from: core.raft.leader,
                                   deadlineNanos: time.timerNanos + AdminState.membershipMillisMax * 1_000_000, answer: answer)
    }

    /// After entries applied: the transport learns every member address the log recorded.
    func syncMemberAddresses() {
        let config = core.stateMachine.config
        let seen = native.memberAddressesRevision
        guard config.revision != seen else { return }
        native.memberAddressesRevision = config.revision
        for (node, address) in MemberAddresses.changed(in: config, after: seen)
        where peerAddresses[node] != address && node != configuration.id {
            transport.setPeer(node, address)
        }
    }

    /// Every tick: answers the change in progress once done, refused, or out of time. A learner
    /// that caught up with the leader's commit index is promoted (Raft thesis §4.2.1).
    private func checkChange() {
        guard let change = admin.change else { return }
        let status = core.raft.status()
        let me = configuration.id
        var outcome: RESPValue?
        switch change.goal {
        case .address(let node, let address):
            if status.role != .leader {
                outcome = lostLeadership("recording node \(node)'s address")
            } else if peerAddresses[node] == address {
                do {
                    try core.proposeConfChange(.addLearner(node), at: now())
                    afterInput()
                    admin.change?.goal = .learner(node)
                } catch {
                    outcome = .error("ERR node \(me): \(error)")
                }
            }
        case .leader(let target):
            if status.leader == target {
                outcome = .simpleString("OK leadership moved from node \(change.from) to node \(target) (term \(status.term))")
            } else if status.role == .leader && status.leadTransferee == 0 {
                outcome = .error("ERR the transfer to node \(target) was abandoned after an election timeout; node \(me) still leads")
            } else if status.leader != 0 && status.leader != me {
                outcome = .error("ERR node \(status.leader) took over, not node \(target) (term \(status.term))")
            }
        case .learner(let node):
            if status.role != .leader {
                outcome = lostLeadership("adding node \(node)")
            } else if status.learners.contains(node), let follower = status.followers.first(where: { $0.node == node }),
                      follower.match >= status.commit {
                do {
                    try core.proposeConfChange(.promote(node), at: now())
                    afterInput()
                    admin.change?.goal = .voter(node)
                } catch .invalidConfChange {
                    // The learner's entry has not applied everywhere Raft needs yet: next tick.
                } catch {
                    outcome = .error("ERR promoting node \(node): \(error)")
                }
            }
        case .voter(let node):
            if status.voters.contains(node) {
                outcome = .simpleString("OK node \(node) is a voter (voters \(Self.list(status.voters)))")
            } else if status.role != .leader {
                outcome = lostLeadership("promoting node \(node)")
            }
        case .removed(let node):
            if !status.voters.contains(node) && !status.learners.contains(node) {
                outcome = .simpleString("OK node \(node) removed (voters \(Self.list(status.voters)))")
            } else if status.role != .leader {
                outcome = lostLeadership("removing node \(node)")
            }
        }
        if outcome == nil && now().timerNanos >= change.deadlineNanos {
            outcome = .error("TIMEOUT \(change.goal) not reached in time; it may still happen: check CLUSTER.STATUS")
        }
        guard let outcome else { return }
        admin.change = nil
        change.answer(outcome)
    }

    private func lostLeadership(_ what: String) -> RESPValue {
        .error("ERR node \(configuration.id) stopped leading while \(what); the change may still apply: check CLUSTER.STATUS")
    }
}
