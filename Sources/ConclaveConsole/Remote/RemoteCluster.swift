import ConclaveWire
import Dispatch
import Foundation

/// Real Conclave nodes as the console's source: one `CLUSTER.WATCH` subscription per node (the
/// node pushes its `NodeStatusReport`; nothing is polled per frame), reconnecting with backoff
/// when a node dies, and the operator's controls carried out as ADMIN.* commands on a separate
/// connection. Snapshots are built from the newest report of each node (`RemoteSnapshotBuilder`);
/// what reports do not carry is absent, never made up.
///
/// Thread-safe: one reader thread per node, controls on a serial queue, `take()` from the UI.
public final class RemoteCluster: @unchecked Sendable {
    public struct Settings: Sendable {
        public var intervalMillis: UInt64 = 100
        public var timeoutMillis = 1_000
        public var backoffMillisMin: UInt64 = 100
        public var backoffMillisMax: UInt64 = 2_000
        public init() {}
    }

    public let addresses: [PeerAddress]
    let token: String?
    let settings: Settings
    private let core: FeedCore<RemoteSnapshotBuilder>

    public init(addresses: [PeerAddress], token: String?, settings: Settings = Settings()) {
        self.addresses = addresses
        self.token = token
        self.settings = settings
        core = FeedCore(builder: RemoteSnapshotBuilder(addresses: addresses, intervalMillis: settings.intervalMillis),
                        controlsLabel: "conclave-remote-controls")
    }

    /// Starts one subscriber thread per node.
    public func start() {
        for index in addresses.indices {
            core.spawn("watch-\(addresses[index])") { [self] in watch(index) }
        }
    }

    /// Stops the subscribers (each within its read timeout) and waits for them.
    public func stop() { core.stop() }

    /// The snapshot as of now, a version that changes whenever a report or result arrived, and the
    /// control results since the last call.
    public func take() -> (ClusterSnapshot, Int, [(String, Bool)]) { core.take() }

    /// The snapshot as of now (tests, `conclave status`-like one-shots).
    public func snapshot() -> ClusterSnapshot { take().0 }

    // MARK: - Subscribers

    private func watch(_ index: Int) {
        let address = addresses[index]
        var backoff = settings.backoffMillisMin
        while !core.isStopped {
            // The route's breaker decides whether to try at all: while it is open the node is left alone.
            guard let permit = core.update(shown: false, { $0.admitConnect(index, atNanos: Self.monotonicNanos()) }) else {
                usleep(50_000)
                continue
            }
            var reported = false
            do throws(RESPClient.Failure) {
                let client = try connect(address)
                try client.send([["CLUSTER.WATCH", "\(settings.intervalMillis)", "BINARY"]])
                let first = try client.next()
                if case .error(let message) = first { throw RESPClient.Failure(description: message) }
                backoff = settings.backoffMillisMin
                while !core.isStopped {
                    let value = try client.next()
                    guard case .array(let parts) = value, parts.count == 2, case .bulkString(let body) = parts[1] else { continue }
                    do {
                        let report = try NodeStatusReport(binary: body)
                        let now = Self.monotonicNanos()
                        core.update {
                            if !reported { $0.connected(index, permit, succeeded: true, atNanos: now) }
                            $0.take(report, from: index, atNanos: now)
                        }
                        reported = true
                    } catch {
                        note(index, problem: "\(error)")
                    }
                }
            } catch {
                note(index, problem: error.description)
            }
            if !reported { core.update { $0.connected(index, permit, succeeded: false, atNanos: Self.monotonicNanos()) } }
            // Back off before reconnecting (doubling, bounded), waking often enough to stop quickly.
            core.wait(millis: backoff)
            backoff = min(backoff * 2, settings.backoffMillisMax)
        }
    }

    private func note(_ index: Int, problem: String) {
        core.update { $0.lost(index, problem: problem) }
    }

    private func connect(_ address: PeerAddress) throws(RESPClient.Failure) -> RESPClient {
        let client = try RESPClient(address, timeoutMillis: settings.timeoutMillis, readBufferBytes: 256 << 10)
        if let token, case .error(let message) = try client.call(["AUTH", token]) {
            throw RESPClient.Failure(description: "AUTH refused: \(message)")
        }
        return client
    }

    static func monotonicNanos() -> UInt64 { FeedCore<RemoteSnapshotBuilder>.monotonicNanos() }

    // MARK: - Controls

    /// Carries out `control` in the background; its result arrives with a later `take()`.
    public func submit(_ control: ClusterControl) {
        if case .breaker(let name, let action) = control {
            // The console's own routing breakers: carried out here, on no node.
            let outcome: Result<String, ControlError> = core.update { builder in
                do throws(ControlError) {
                    return .success(try builder.operate(name, action, atNanos: Self.monotonicNanos()))
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(let text): return record(text, isError: false)
            case .failure(let error): return record(error.message, isError: true)
            }
        }
        let plan: RemoteControlPlan
        do {
            plan = try RemoteControlPlan.make(control, cluster: core.read { $0 })
        } catch {
            return record(error.message, isError: true)
        }
        core.controls.async { [self] in
            let outcome = execute(plan)
            record(outcome.text, isError: outcome.isError)
        }
    }

    /// Carries out `control` and waits for its result (tests).
    public func apply(_ control: ClusterControl) -> (text: String, isError: Bool) {
        let plan: RemoteControlPlan
        do {
            plan = try RemoteControlPlan.make(control, cluster: core.read { $0 })
        } catch {
            return (error.message, true)
        }
        return core.controls.sync { execute(plan) }
    }

    private func record(_ text: String, isError: Bool) { core.record(text, isError: isError) }

    private func execute(_ plan: RemoteControlPlan) -> (text: String, isError: Bool) {
        var answers: [String] = []
        for step in plan.steps {
            switch step {
            case .command(let index, let arguments):
                do throws(RESPClient.Failure) {
                    let client = try connect(addresses[index])
                    let reply = try client.call(arguments)
                    if case .error(let message) = reply { return ("node at \(addresses[index]): \(message)", true) }
                    answers.append(Self.text(of: reply))
                } catch {
                    return ("\(arguments.first ?? "") to \(addresses[index]): \(error.description)", true)
                }
            case .kill(let pid, let node):
                guard pid > 0, Foundation.kill(pid, SIGKILL) == 0 else {
                    return ("cannot kill node \(node) (pid \(pid)): \(String(cString: strerror(errno)))", true)
                }
                answers.append("killed node \(node) (pid \(pid), SIGKILL)")
            }
        }
        return (plan.summary + (answers.isEmpty ? "" : ": " + answers.joined(separator: "; ")), false)
    }

    static func text(of reply: RESPValue) -> String {
        switch reply {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .integer(let number): return "\(number)"
        case .array(let items): return items.map(text(of:)).joined(separator: " ")
        default: return "\(reply)"
        }
    }
}
