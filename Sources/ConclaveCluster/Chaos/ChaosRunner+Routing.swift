import ConclaveCore
import ConclaveResilience

/// The chaos clients pick nodes through a `NodeRouter`: each new operation goes to the next node of
/// the client's shuffled order, a retry to the next after that, skipping nodes whose breaker is open;
/// each breaker is fed with every call's outcome (answer, refusal, timeout). So a killed or cut-off
/// node's breaker opens and the console has live breakers to show.
extension ChaosRunner {
    /// Breakers tuned to the simulated network: a call is slow at half the attempt timeout; five
    /// failures within a second, or half of the last 20 calls (10 at least) failing, open a breaker for
    /// 500 ms; two probes decide, and probes that never report reopen it after two attempt timeouts.
    static func routerConfiguration(_ options: ChaosOptions) -> NodeRouter.Configuration {
        let breaker = CircuitBreakerConfiguration(
            window: .countBased(calls: 20), minimumCalls: 10, failureRateThresholdPercent: 50,
            slowCallRateThresholdPercent: 80, slowCallDurationNanos: max(1, options.attemptTimeoutNanos / 2),
            waitInOpenNanos: 500_000_000, halfOpenProbes: 2, halfOpenMaxWaitNanos: max(1, options.attemptTimeoutNanos * 2),
            failureBurst: .init(failures: 5, withinNanos: 1_000_000_000)
        )
        return NodeRouter.Configuration(breaker: breaker, maxTries: options.nodes)
    }

    /// The breakers the clients' calls go through: state, rates, picks and transitions with reasons.
    public var nodeRouting: NodeRouterSnapshot { router.snapshot(atNanos: simulator.now) }

    /// Sends a client's request through the router: to its preferred node if that node's breaker
    /// admits it, else to the next admitted node of its retry order. Refused without sending when no
    /// breaker admits it (the client retries soon, like any refusal).
    func submitRouted(_ slot: Int, _ submit: (NodeID) -> Simulator.Submission) -> Simulator.Submission {
        for node in simulator.nodeIDs { router.add(node, nowNanos: simulator.now) }
        guard let node = router.begin(caller: slot, preferred: clients[slot].preferredNode, nowNanos: simulator.now) else {
            return .refused("every node's breaker is open")
        }
        clients[slot].preferredNode = node
        let submission = submit(node)
        if case .refused = submission { router.record(caller: slot, .failure, nowNanos: simulator.now) }
        return submission
    }

    /// A new operation goes to the next node of the client's shuffled order (the balancer), so load
    /// spreads and a node whose breaker waits in open gets probed once its wait is over.
    func routeNewCall(_ slot: Int) {
        clients[slot].preferredNode = router.next(caller: slot)
    }

    /// The client's call got no answer in time (or was refused): a failure; move to the next node.
    func callFailed(_ slot: Int) {
        router.record(caller: slot, .failure, nowNanos: simulator.now)
        clients[slot].preferredNode = router.next(caller: slot)
    }

    /// `node` answered the client's call.
    func callAnswered(_ slot: Int, by node: NodeID) {
        router.record(caller: slot, .success, from: node, nowNanos: simulator.now)
    }
}
