import ConclaveCore
import ConclaveCoordination

/// Cluster-wide throttles on the simulated cluster: a node stamps each throttle take it receives with
/// its estimate of cluster time (see `ThrottleTable` for why, and for the accuracy that gives).
extension Simulator {
    /// What a node knows of cluster time: the value of the last clock entry it applied, and its own
    /// monotonic clock when it applied it.
    struct ClusterClockEstimate {
        var clusterMillis: UInt64 = 0
        var localNanos: UInt64 = 0
    }

    /// Called after every applied entry: notes when this node saw cluster time move.
    func noteClusterTime(at position: Int) {
        let millis = nodes[position].stateMachine.nowMillis
        guard millis != nodes[position].clusterClock.clusterMillis else { return }
        nodes[position].clusterClock = ClusterClockEstimate(clusterMillis: millis, localNanos: localClockNanos(position))
    }

    /// A throttle take as the receiving node proposes it: stamped with cluster time at the last clock
    /// entry it applied plus its monotonic clock since (skewed clocks included). Anything else as is.
    func stampedForThrottle(_ request: CoordinationRequest, at node: NodeID) -> CoordinationRequest {
        guard case .throttle(.take(let name, let quantity, _)) = request.command, nodeIDs.contains(node) else { return request }
        let position = index(of: node)
        let estimate = nodes[position].clusterClock
        let sinceNanos = localClockNanos(position) &- estimate.localNanos
        var stamped = request
        stamped.command = .throttle(.take(name: name, quantity: quantity,
                                          stampNanos: estimate.clusterMillis &* 1_000_000 &+ sinceNanos))
        return stamped
    }
}
