import ConclaveCore
import ConclaveResilience

/// How a client picks the node for each call: one circuit breaker per node, and for each caller a
/// Fisher–Yates-shuffled retry order over the nodes — after a failure the caller moves to the next node
/// in its order, at most `maxTries` nodes per order, then a fresh order. A node whose breaker is open is
/// skipped (it counts as refused by the breaker), so a killed or partitioned node stops taking calls
/// until its wait in open has passed and a probe gets through.
///
/// The router is told every call's outcome: an answer is a success (slow when it took at least the
/// breaker's `slowCallDurationNanos`), a refusal or a call that timed out is a failure. An answer from
/// a node other than the one the caller's current call went to (a late answer to an earlier attempt,
/// already counted as a timeout) judges nothing.
///
/// Pure: time is given, randomness is a seeded generator; O(nodes) per call at most.
public struct NodeRouter: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var breaker: CircuitBreakerConfiguration
        /// Nodes tried per retry order before a fresh shuffle (at most the node count).
        public var maxTries: Int

        public init(breaker: CircuitBreakerConfiguration, maxTries: Int) {
            self.breaker = breaker
            self.maxTries = maxTries
        }
    }

    /// A call in flight: its node, the breaker's permit and when it started.
    struct Call: Sendable {
        var position: Int
        var permit: CircuitBreakerPermit
        var startNanos: UInt64
    }

    public let configuration: Configuration
    public private(set) var nodes: [NodeID] = []
    private var breakers: [CircuitBreaker] = []
    private var picks: [UInt64] = []
    private var plans: [Int: RetryPlan] = [:]
    private var calls: [Int: Call] = [:]
    private var balancer: ShuffleBalancer
    private var random: SeededGenerator

    /// - Throws: `ResilienceConfigurationError` for an invalid breaker configuration, an empty node
    ///   list, or `maxTries` below 1.
    public init(nodes: [NodeID], configuration: Configuration, random: SeededGenerator, nowNanos: UInt64)
        throws(ResilienceConfigurationError)
    {
        guard !nodes.isEmpty else {
            throw ResilienceConfigurationError(parameter: "nodes", value: "of 0 nodes", accepted: "at least one node")
        }
        guard configuration.maxTries >= 1 else {
            throw ResilienceConfigurationError(parameter: "maxTries", value: String(configuration.maxTries),
                                               accepted: "an integer of at least 1")
        }
        _ = try CircuitBreaker(configuration: configuration.breaker, nowNanos: nowNanos)
        self.configuration = configuration
        self.random = random
        balancer = try ShuffleBalancer(backendCount: nodes.count, algorithm: .fisherYates)
        for node in nodes { add(node, nowNanos: nowNanos) }
    }

    /// Adds a node that joined (membership growth); a known node is left as it is.
    public mutating func add(_ node: NodeID, nowNanos: UInt64) {
        guard !nodes.contains(node), let breaker = try? CircuitBreaker(configuration: configuration.breaker, nowNanos: nowNanos),
              let grown = try? ShuffleBalancer(backendCount: nodes.count + 1, algorithm: .fisherYates) else { return }
        nodes.append(node)
        breakers.append(breaker)
        picks.append(0)
        balancer = grown
        plans.removeAll()
    }

    /// Starts a call for `caller`: to `preferred` if its breaker admits it, else to the next node of the
    /// caller's retry order that admits one. Returns the node, or nil when no breaker admits within a
    /// retry order (the caller should wait). A call of the caller's still in flight is judged a failure.
    public mutating func begin(caller: Int, preferred: NodeID, nowNanos: UInt64) -> NodeID? {
        record(caller: caller, .failure, nowNanos: nowNanos)
        var candidate: NodeID? = preferred
        for _ in 0...configuration.maxTries {
            guard let node = candidate else { break }
            if let position = nodes.firstIndex(of: node), let permit = breakers[position].acquire(nowNanos: nowNanos).permit {
                picks[position] &+= 1
                calls[caller] = Call(position: position, permit: permit, startNanos: nowNanos)
                return node
            }
            candidate = nextInOrder(caller: caller)
        }
        return nil
    }

    /// Reports how the caller's call in flight went (nothing in flight: nothing happens). `from`: the
    /// node that answered, when known; an answer from another node than the call's judges nothing.
    @discardableResult
    public mutating func record(caller: Int, _ outcome: CallOutcome, from node: NodeID? = nil,
                                nowNanos: UInt64) -> CircuitBreakerTransition? {
        guard let call = calls[caller], node == nil || nodes[call.position] == node else { return nil }
        calls[caller] = nil
        let duration = nowNanos >= call.startNanos ? nowNanos - call.startNanos : 0
        return breakers[call.position].record(outcome, permit: call.permit, durationNanos: duration, nowNanos: nowNanos)
    }

    /// The node after a failure: the next of the caller's retry order (a fresh order once used up).
    public mutating func next(caller: Int) -> NodeID {
        nextInOrder(caller: caller) ?? nodes[0]
    }

    private mutating func nextInOrder(caller: Int) -> NodeID? {
        if let position = plans[caller]?.next() { return nodes[position] }
        guard var plan = try? balancer.retryPlan(maxTries: min(configuration.maxTries, nodes.count), using: &random),
              let position = plan.next() else { return nil }
        plans[caller] = plan
        return nodes[position]
    }

    /// Operator states for the console: force a node's breaker open, disable it, or reset it.
    public mutating func operate(_ node: NodeID, _ action: NodeBreakerAction, nowNanos: UInt64) {
        guard let position = nodes.firstIndex(of: node) else { return }
        switch action {
        case .forceOpen: _ = breakers[position].forceOpen(nowNanos: nowNanos)
        case .disable: _ = breakers[position].disable(nowNanos: nowNanos)
        case .reset: _ = breakers[position].reset(nowNanos: nowNanos)
        }
    }

    /// Every node's breaker, picks and recent transitions, for the console.
    public func snapshot(atNanos nowNanos: UInt64) -> NodeRouterSnapshot {
        let routes = nodes.indices.map { position in
            NodeRouterSnapshot.Route(node: nodes[position], breaker: breakers[position].snapshot(atNanos: nowNanos),
                                     picks: picks[position])
        }
        let transitions = routes.flatMap { route in route.breaker.recentTransitions.map { (node: route.node, transition: $0) } }
            .sorted { ($0.transition.atNanos, $0.node) < ($1.transition.atNanos, $1.node) }
        return NodeRouterSnapshot(routes: routes, transitions: transitions.map { .init(node: $0.node, transition: $0.transition) })
    }
}

/// What an operator can do to one node's breaker.
public enum NodeBreakerAction: Sendable, Equatable {
    case forceOpen, disable, reset
}

/// The router as of one moment.
public struct NodeRouterSnapshot: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        public var node: NodeID
        public var breaker: CircuitBreakerSnapshot
        /// Calls sent to this node (admitted by its breaker).
        public var picks: UInt64
    }

    public struct Transition: Sendable, Equatable {
        public var node: NodeID
        public var transition: CircuitBreakerTransition
    }

    /// One per node, in the order nodes became known.
    public var routes: [Route]
    /// Every node's recent transitions (each breaker keeps its last 32), oldest first.
    public var transitions: [Transition]
}
