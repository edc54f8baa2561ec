/// What the console runs on inside this process: a simulated cluster on virtual time. The seam
/// between the console session (keys, demos, headless runs, the live thread) and the engines —
/// Raft (`EmbeddedCluster`), Paxos (`EmbeddedPaxos`) or both side by side (`EmbeddedPair`).
public protocol EmbeddedEngine: AnyObject {
    var nowNanos: UInt64 { get }
    var isPaused: Bool { get }
    var speed: Double { get }
    /// Runs up to virtual time `deadline` (does nothing while paused).
    func advance(until deadline: UInt64)
    /// Runs exactly one event (Raft: the next event time; Paxos: one delivered message) and says
    /// what it was. Works paused or not.
    @discardableResult func step() -> String
    /// Carries out an operator's action: what was done, or why not.
    @discardableResult func apply(_ control: ClusterControl) -> Result<String, ControlError>
    /// The whole console model as a value.
    func snapshot() -> ClusterSnapshot
}

/// Builds the engine a console or demo asked for.
public enum EmbeddedEngines {
    public static func make(_ engine: ConsensusEngine, seed: UInt64, nodes: Int) throws(ControlError) -> any EmbeddedEngine {
        switch engine {
        case .raft: return try raft(seed: seed, nodes: nodes)
        case .paxos: return try EmbeddedPaxos(seed: seed, nodes: nodes)
        case .both: return EmbeddedPair(raft: try raft(seed: seed, nodes: nodes), paxos: try EmbeddedPaxos(seed: seed, nodes: nodes))
        case .etcd, .redis: throw ControlError("\(engine.rawValue) is an existing engine to attach to (conclave console --\(engine.rawValue) URL), not one to embed")
        }
    }

    static func raft(seed: UInt64, nodes: Int) throws(ControlError) -> EmbeddedCluster {
        do { return try EmbeddedCluster(seed: seed, nodes: nodes) } catch { throw ControlError(error.description) }
    }
}

/// An engine that carries out controls itself and logs them: the shared half of `apply`.
protocol ControlPerforming: AnyObject {
    func perform(_ control: ClusterControl) throws(ControlError) -> String
    func record(_ kind: ClusterEvent.Kind, _ text: String)
}

extension ControlPerforming {
    /// Carries out `control` and logs what was done (a fault for a dangerous control), or why not.
    func performLogged(_ control: ClusterControl) -> Result<String, ControlError> {
        do {
            let done = try perform(control)
            record(control.isDangerous ? .fault : .control, done)
            return .success(done)
        } catch {
            record(.info, "refused: \(error.message)")
            return .failure(error)
        }
    }
}

/// Partition groups named by the operator, resolved to node IDs.
enum NodeGroups {
    /// Each node resolved; a node named in two groups is refused.
    static func resolve(_ groups: [[NodeRef]], _ resolve: (NodeRef) throws(ControlError) -> UInt64) throws(ControlError) -> [[UInt64]] {
        var resolved: [[UInt64]] = []
        for group in groups {
            var ids: [UInt64] = []
            for node in group { ids.append(try resolve(node)) }
            resolved.append(ids)
        }
        let named = resolved.flatMap { $0 }
        guard Set(named).count == named.count else { throw ControlError("a node appears in two groups") }
        return resolved
    }

    /// "1,2 | 3,4,5".
    static func text(_ groups: [[UInt64]]) -> String {
        groups.map { $0.map(String.init).joined(separator: ",") }.joined(separator: " | ")
    }
}
