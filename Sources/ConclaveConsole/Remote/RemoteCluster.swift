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
    private let lock = NSLock()
    private var builder: RemoteSnapshotBuilder
    private var results: [(String, Bool)] = []
    private var version = 0
    private var stopped = false
    private var threads: [Thread] = []
    private let finished = DispatchGroup()
    private let controls = DispatchQueue(label: "conclave-remote-controls")

    public init(addresses: [PeerAddress], token: String?, settings: Settings = Settings()) {
        self.addresses = addresses
        self.token = token
        self.settings = settings
        builder = RemoteSnapshotBuilder(addresses: addresses, intervalMillis: settings.intervalMillis)
    }

    /// Starts one subscriber thread per node.
    public func start() {
        for index in addresses.indices {
            finished.enter()
            let thread = Thread { [self] in
                watch(index)
                finished.leave()
            }
            thread.name = "conclave-watch-\(addresses[index])"
            threads.append(thread)
            thread.start()
        }
    }

    /// Stops the subscribers (each within its read timeout) and waits for them.
    public func stop() {
        lock.withLock { stopped = true }
        finished.wait()
        controls.sync {}
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// The snapshot as of now, a version that changes whenever a report or result arrived, and the
    /// control results since the last call.
    public func take() -> (ClusterSnapshot, Int, [(String, Bool)]) {
        let now = Self.monotonicNanos()
        return lock.withLock {
            defer { results.removeAll() }
            return (builder.snapshot(nowNanos: now), version, results)
        }
    }

    /// The snapshot as of now (tests, `conclave status`-like one-shots).
    public func snapshot() -> ClusterSnapshot { take().0 }

    // MARK: - Subscribers

    private func watch(_ index: Int) {
        let address = addresses[index]
        var backoff = settings.backoffMillisMin
        while !isStopped {
            // The route's breaker decides whether to try at all: while it is open the node is left alone.
            guard let permit = lock.withLock({ builder.admitConnect(index, atNanos: Self.monotonicNanos()) }) else {
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
                while !isStopped {
                    let value = try client.next()
                    guard case .array(let parts) = value, parts.count == 2, case .bulkString(let body) = parts[1] else { continue }
                    do {
                        let report = try NodeStatusReport(binary: body)
                        let now = Self.monotonicNanos()
                        lock.withLock {
                            if !reported { builder.connected(index, permit, succeeded: true, atNanos: now) }
                            builder.take(report, from: index, atNanos: now)
                            version += 1
                        }
                        reported = true
                    } catch {
                        note(index, problem: "\(error)")
                    }
                }
            } catch {
                note(index, problem: error.description)
            }
            if !reported { lock.withLock { builder.connected(index, permit, succeeded: false, atNanos: Self.monotonicNanos()) } }
            // Back off before reconnecting (doubling, bounded), waking often enough to stop quickly.
            let until = Self.monotonicNanos() + backoff * 1_000_000
            while !isStopped && Self.monotonicNanos() < until { usleep(20_000) }
            backoff = min(backoff * 2, settings.backoffMillisMax)
        }
    }

    private func note(_ index: Int, problem: String) {
        lock.withLock {
            builder.lost(index, problem: problem)
            version += 1
        }
    }

    private func connect(_ address: PeerAddress) throws(RESPClient.Failure) -> RESPClient {
        let client = try RESPClient(address, timeoutMillis: settings.timeoutMillis, readBufferBytes: 256 << 10)
        if let token, case .error(let message) = try client.call(["AUTH", token]) {
            throw RESPClient.Failure(description: "AUTH refused: \(message)")
        }
        return client
    }

    static func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: - Controls

    /// Carries out `control` in the background; its result arrives with a later `take()`.
    public func submit(_ control: ClusterControl) {
        if case .breaker(let name, let action) = control {
            // The console's own routing breakers: carried out here, on no node.
            let outcome: Result<String, ControlError> = lock.withLock {
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
            plan = try RemoteControlPlan.make(control, cluster: lock.withLock { builder })
        } catch {
            return record(error.message, isError: true)
        }
        controls.async { [self] in
            let outcome = execute(plan)
            record(outcome.text, isError: outcome.isError)
        }
    }

    /// Carries out `control` and waits for its result (tests).
    public func apply(_ control: ClusterControl) -> (text: String, isError: Bool) {
        let plan: RemoteControlPlan
        do {
            plan = try RemoteControlPlan.make(control, cluster: lock.withLock { builder })
        } catch {
            return (error.message, true)
        }
        return controls.sync { execute(plan) }
    }

    private func record(_ text: String, isError: Bool) {
        lock.withLock {
            results.append((text, isError))
            builder.note(text, isError: isError, atNanos: Self.monotonicNanos())
            version += 1
        }
    }

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
