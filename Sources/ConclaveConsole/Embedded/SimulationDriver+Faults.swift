import ConclaveCluster
import ConclaveCore

/// Why a control could not be carried out, in words an operator can act on.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The operator's faults and membership changes, carried out on the simulator exactly
/// (`Simulator.inject`). Returns what was done, for the event log, or why not.
extension SimulationDriver {
    func perform(fault control: ClusterControl) throws(ControlError) -> String {
        switch control {
        case .kill(let reference):
            let node = try resolve(reference)
            guard !simulator.isCrashed(node) else { throw ControlError("node \(node) is already down") }
            try inject(.crash(node))
            return "killed node \(node)"
        case .restart(let reference):
            let node = try resolve(reference)
            guard simulator.isCrashed(node) else { throw ControlError("node \(node) is not down") }
            try inject(.restart(node))
            return "restarted node \(node)"
        case .restartAll:
            simulator.healAll()
            return "healed everything: network whole, clocks true, every node up"
        case .partition(let groups):
            let resolved = try NodeGroups.resolve(groups, resolve)
            try inject(.partition(resolved))
            return "partitioned " + NodeGroups.text(resolved)
        case .heal:
            try inject(.heal)
            return "healed the network"
        case .isolate(let reference):
            let node = try resolve(reference)
            try inject(.partition([[node]]))
            return "isolated node \(node)"
        case .drop(let percent):
            try inject(.drop(probability: Double(percent) / 100))
            return "dropping \(percent)% of messages"
        case .delay(let millis):
            try inject(.delay(millis: millis))
            return "delaying messages by up to \(millis) ms"
        case .duplicate(let percent):
            try inject(.duplicate(probability: Double(percent) / 100))
            return "duplicating \(percent)% of messages"
        case .pause(let reference, let millis):
            let node = try resolve(reference)
            try inject(.pause(node, millis: millis))
            return "paused node \(node) for \(millis) ms"
        case .skew(let reference, let millis):
            let node = try resolve(reference)
            try inject(.skew(node, offsetMillis: millis, ratePermille: 1000))
            return "skewed node \(node)'s clock \(millis >= 0 ? "+" : "")\(millis) ms"
        case .transfer, .addNode, .removeNode:
            return try performMembership(control)
        default:
            throw ControlError("not a fault")
        }
    }

    private func performMembership(_ control: ClusterControl) throws(ControlError) -> String {
        switch control {
        case .transfer(let reference):
            let node = try resolve(reference)
            do { try simulator.transferLeadership(to: node) } catch { throw ControlError(error.description) }
            return "asked the leader to hand over to node \(node)"
        case .addNode:
            do {
                let node = try simulator.addNode()
                try simulator.changeMembership(.addLearner(node))
                return "added node \(node) as a learner"
            } catch { throw ControlError(error.description) }
        case .removeNode(let reference):
            let node = try resolve(reference)
            do { try simulator.changeMembership(.remove(node)) } catch { throw ControlError(error.description) }
            return "proposed removing node \(node)"
        default:
            throw ControlError("not a membership change")
        }
    }

    private func inject(_ fault: Fault) throws(ControlError) {
        do { try simulator.inject(fault) } catch { throw ControlError(error.description) }
    }
}
