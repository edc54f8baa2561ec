import ConclaveClient
import ConclaveWire
import Dispatch
import Foundation

/// An existing engine as the console's source: etcd members (`--etcd`) or Redis instances
/// (`--redis`), polled on their own threads — each etcd member's status, one cluster-wide round
/// (members, alarms, lock keys, leases) from whichever member answers, a watch of a prefix; each
/// Redis instance's INFO and lock keys — with doubling backoff while an endpoint fails, every
/// failure named in the log with its endpoint. Snapshots come from the pure
/// `EngineSnapshotBuilder`; controls run on a serial queue (`EngineCluster+Controls`).
///
/// Thread-safe: poller threads, controls on a queue, `take()` from the UI.
public final class EngineCluster: ClusterFeed, @unchecked Sendable {
    public struct Settings: Sendable {
        public var intervalMillis: UInt64 = 500
        public var timeoutMillis = 2_000
        public var backoffMillisMin: UInt64 = 200
        public var backoffMillisMax: UInt64 = 5_000
        public init() {}
    }

    public let kind: ForeignEngineSnapshot.Kind
    /// The endpoints as shown (no credentials).
    public let urls: [String]
    /// The endpoints as given, credentials included: for the Lockers that take and release locks.
    let credentialURLs: [String]
    let endpoints: [EndpointURL]
    let addresses: [PeerAddress]
    let settings: Settings
    let core: FeedCore<EngineSnapshotBuilder>
    /// Fixed at start: etcd's lock prefix (nil: every mutex key) or Redis's key pattern, and
    /// etcd's watched prefix.
    let lockScope: String?
    let watchPrefix: String?
    private let heldLock = NSLock()
    /// Locks the console took (`lock acquire`), by name: released with the Locker that took them.
    private var held: [String: (locker: any Locker, grant: LockGrant)] = [:]

    /// `urls`: `http://host:port` (etcd) or `redis://host:port` (Redis); `lockScope`: etcd's lock
    /// prefix (nil: every mutex key) or Redis's key pattern; `watchPrefix`: etcd's watched prefix.
    public init(kind: ForeignEngineSnapshot.Kind, urls: [String], lockScope: String?, watchPrefix: String?,
                settings: Settings = Settings()) throws(ControlError) {
        do throws(ClientError) {
            endpoints = try parseEndpointURLs(urls, scheme: kind == .etcd ? "http" : "redis")
        } catch {
            throw ControlError("--\(kind.rawValue): \(error)")
        }
        addresses = endpoints.map(\.address)
        self.kind = kind
        self.urls = endpoints.map(\.shown)  // what the screen shows: never the credentials
        credentialURLs = urls
        self.settings = settings
        self.lockScope = lockScope
        self.watchPrefix = watchPrefix
        core = FeedCore(builder: EngineSnapshotBuilder(kind: kind, urls: self.urls, lockScope: lockScope, watchPrefix: watchPrefix),
                        controlsLabel: "conclave-engine-controls")
    }

    public func start() {
        for index in addresses.indices {
            core.spawn("\(kind.rawValue)-\(addresses[index])") { [self] in
                poll(kind == .etcd ? { try self.pollStatus(index, &$0) } : { try self.pollRedis(index, &$0) },
                     failed: { problem in self.update { $0.lost(index, problem: problem, atNanos: Self.monotonicNanos()) } })
            }
        }
        guard kind == .etcd else { return }
        core.spawn("etcd-cluster") { [self] in
            poll({ try self.pollCluster(&$0) }, failed: { problem in self.update { $0.roundFailed(problem, atNanos: Self.monotonicNanos()) } })
        }
        if watchPrefix != nil {
            core.spawn("etcd-watch") { [self] in
                poll({ try self.watch(&$0) }, failed: { problem in self.update { $0.watchFailed(problem, atNanos: Self.monotonicNanos()) } })
            }
        }
    }

    /// Stops the pollers (each within its read timeout) and waits for them and the controls.
    public func stop() { core.stop() }

    var isStopped: Bool { core.isStopped }

    public func take() -> (ClusterSnapshot, Int, [(String, Bool)]) { core.take() }

    public func snapshot() -> ClusterSnapshot { take().0 }

    static func monotonicNanos() -> UInt64 { FeedCore<EngineSnapshotBuilder>.monotonicNanos() }

    func update(_ change: (inout EngineSnapshotBuilder) -> Void) { core.update(change) }

    func record(_ text: String, isError: Bool) { core.record(text, isError: isError) }

    /// The locks the console holds, under their own lock: queued controls run one at a time, but
    /// `apply` runs on its caller's thread.
    func withHeld<Value>(_ body: (inout [String: (locker: any Locker, grant: LockGrant)]) -> Value) -> Value {
        heldLock.withLock { body(&held) }
    }

    /// Runs `round` every interval; after a failure, says why and waits a doubling backoff
    /// (bounded) before the next try. `round` gets the connection kept between rounds (nil after a
    /// failure) and returns it.
    private func poll(_ round: (inout Connection?) throws -> Void, failed: (String) -> Void) {
        var connection: Connection?
        var backoff = settings.backoffMillisMin
        while !isStopped {
            var waitMillis = settings.intervalMillis
            do {
                try round(&connection)
                backoff = settings.backoffMillisMin
            } catch {
                connection = nil
                failed("\(error)")
                waitMillis = backoff
                backoff = min(backoff * 2, settings.backoffMillisMax)
            }
            core.wait(millis: waitMillis)
        }
    }

    /// What a poller keeps open between rounds.
    enum Connection {
        case http(HTTPConnection)
        case resp(RESPClient)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}

extension RemoteCluster: ClusterFeed {}
