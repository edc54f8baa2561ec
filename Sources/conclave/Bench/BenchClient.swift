import ArgumentParser
import ConclaveClient
import ConclaveWire
import Dispatch
import Foundation
import Histogram

/// `conclave bench client`: what the client API adds to a lock cycle on each backend. One client,
/// uncontended try-lock + release, two ways in alternating rounds of the same run: through the
/// API (`Locker.tryLock` + `unlock` from an async task) and through a raw client sending the same
/// requests by hand on a blocking connection (the requests a careful user of redis-py or of etcd's
/// gateway would send). Target: the API's mean cycle ≤ 1.10 × the raw one on every backend.
struct BenchClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "The client API's lock cycle against a raw client's, on Conclave, etcd, Redis and Redlock.",
        discussion: """
            Starts 3 Conclave nodes, a 3-member etcd (apt-get install etcd-server) and three Redis \
            instances (apt-get install redis-server) on loopback. Each backend: --rounds rounds, each \
            running the raw cycle then the API cycle for seconds/rounds/2 each; rows with p50/p99, then \
            the API ÷ raw ratio of the mean cycle time.
            """
    )

    @OptionGroup var options: BenchOptions
    @Option(help: "Seconds per backend (both ways together), 1…600.") var seconds = 4.0
    @Option(help: "Alternating rounds per backend, 1…100.") var rounds = 8
    @Option(help: "Backends, comma-separated: conclave, etcd, redis, redlock.") var backends = "conclave,etcd,redis,redlock"

    enum Backend: String, CaseIterable { case conclave, etcd, redis, redlock }

    func validate() throws {
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds \(seconds): accepted: 1…600") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds \(rounds): accepted: 1…100") }
        guard let chosen = Self.backendList(backends), !chosen.isEmpty else {
            throw ValidationError("--backends '\(backends)': accepted: a comma-separated subset of conclave,etcd,redis,redlock")
        }
    }

    static func backendList(_ text: String) -> [Backend]? {
        let values = text.split(separator: ",").map { Backend(rawValue: String($0).trimmingCharacters(in: .whitespaces)) }
        return values.contains(nil) ? nil : values.compactMap { $0 }
    }

    func run() throws {
        let servers = try LocalServers(purpose: "bench-client")
        defer { servers.stop() }
        let port = LocalCluster.randomBasePort(span: 500)
        let chosen = Self.backendList(backends) ?? []
        var rows: [BenchResult] = []
        for backend in chosen {
            let (raw, locker) = try prepare(backend, servers: servers, port: port)
            var rawHistogram = BenchClock.latencyHistogram(), apiHistogram = BenchClock.latencyHistogram()
            var rawNanos: UInt64 = 0, apiNanos: UInt64 = 0
            let slice = UInt64(seconds / Double(rounds) / 2 * 1e9)
            for round in 0..<rounds {
                rawNanos += try Self.loop(slice, into: &rawHistogram) { try raw("bench-raw-\(round)") }
                let histogram = HistogramBox(apiHistogram)
                try runBlocking {
                    // The API as an async caller uses it: the whole round in one task.
                    let start = BenchClock.nanoseconds()
                    while BenchClock.nanoseconds() - start < slice {
                        let began = BenchClock.nanoseconds()
                        try await Self.cycle(locker, "bench-api-\(round)")
                        _ = histogram.value.record(BenchClock.nanoseconds() - began)
                    }
                    histogram.nanos = BenchClock.nanoseconds() - start
                }
                apiHistogram = histogram.value
                apiNanos += histogram.nanos
            }
            let title = "\(backend.rawValue) lock cycle (try + release), 1 client"
            rows.append(BenchResult(name: "\(title): raw", unit: "cycles/s", value: Double(rawHistogram.totalCount) / (Double(rawNanos) / 1e9),
                                    histogram: rawHistogram))
            rows.append(BenchResult(name: "\(title): API", unit: "cycles/s", value: Double(apiHistogram.totalCount) / (Double(apiNanos) / 1e9),
                                    histogram: apiHistogram))
            let rawMean = Double(rawNanos) / Double(max(1, rawHistogram.totalCount))
            let apiMean = Double(apiNanos) / Double(max(1, apiHistogram.totalCount))
            rows.append(BenchResult(name: "  ratio API ÷ raw, \(backend.rawValue): mean cycle time (target ≤ 1.10)", unit: "×",
                                    value: apiMean / rawMean, p50: .nan, p99: .nan, n: 0))
        }
        BenchReport.emit(rows, json: options.json)
    }

    /// Runs `body` for `nanos`, recording each call; the time it ran.
    static func loop(_ nanos: UInt64, into histogram: inout Histogram<UInt64>, _ body: () throws -> Void) throws -> UInt64 {
        let start = BenchClock.nanoseconds()
        while BenchClock.nanoseconds() - start < nanos {
            let began = BenchClock.nanoseconds()
            try body()
            _ = histogram.record(BenchClock.nanoseconds() - began)
        }
        return BenchClock.nanoseconds() - start
    }

    static func cycle(_ locker: any Locker, _ name: String) async throws {
        guard let grant = try await locker.tryLock(name, ttl: .seconds(10)) else { throw ValidationError("bench client: \(name) was held") }
        try await locker.unlock(grant)
    }

    /// A histogram handed to one task and back (the caller waits for it).
    final class HistogramBox: @unchecked Sendable {
        var value: Histogram<UInt64>
        var nanos: UInt64 = 0
        init(_ value: Histogram<UInt64>) { self.value = value }
    }

    /// The backend's servers, a raw cycle on a blocking connection, and the API's Locker.
    private func prepare(_ backend: Backend, servers: LocalServers, port: Int) throws -> (raw: (String) throws -> Void, locker: any Locker) {
        let token = "bench-\(UInt64.random(in: 0..<UInt64.max))"
        switch backend {
        case .conclave:
            let address = try servers.conclave(basePort: port).leader
            let client = try RESPClient(address, timeoutMillis: 10_000)
            guard case .integer = try client.call(["SESSION.OPEN", "60000"]) else { throw ValidationError("SESSION.OPEN was refused") }
            let raw: (String) throws -> Void = { name in
                guard case .integer = try client.call(["LOCK.TRY", name, "TTL", "10000"]),
                      case .simpleString("OK") = try client.call(["LOCK.RELEASE", name]) else { throw ValidationError("raw conclave cycle refused") }
            }
            return (raw, try ConclaveLocker(["redis://\(address)"]))
        case .etcd:
            let etcd = try servers.etcd(basePort: port + 300)
            let connection = try HTTPConnection(PeerAddress(host: "127.0.0.1", port: etcd.clientPorts[0]), timeoutMillis: 10_000)
            let raw: (String) throws -> Void = { name in
                // The recipe by hand: a lease, the key put with the owner read in one txn, a revoke.
                let granted = try connection.post("/v3/lease/grant", #"{"TTL":"10"}"#)
                guard let lease = granted.body.split(separator: "\"ID\":\"").dropFirst().first?.prefix(while: { $0 != "\"" }) else {
                    throw ValidationError("etcd lease grant: \(granted.body.prefix(200))")
                }
                let key = Data("\(name)/\(lease)".utf8).base64EncodedString()
                let prefix = Data("\(name)/".utf8).base64EncodedString(), end = Data("\(name)0".utf8).base64EncodedString()
                let txn = try connection.post("/v3/kv/txn", #"{"success":[{"request_put":{"key":"\#(key)","value":"","lease":"\#(lease)"}},{"request_range":{"key":"\#(prefix)","range_end":"\#(end)","sort_order":"ASCEND","sort_target":"CREATE","limit":"1"}}]}"#)
                let revoked = try connection.post("/v3/kv/lease/revoke", #"{"ID":"\#(lease)"}"#)
                guard txn.status == 200, revoked.status == 200 else { throw ValidationError("raw etcd cycle: \(txn.body.prefix(200))") }
            }
            return (raw, try EtcdLocker(etcd.urls))
        case .redis, .redlock:
            let count = backend == .redis ? 1 : 3
            let redis = try (0..<count).map { try servers.redis(port: port + 400 + ($0 + 1) * 10 + (backend == .redis ? 0 : 5), name: "redis-\(backend.rawValue)-\($0)") }
            let clients = try redis.map { try RESPClient(PeerAddress(host: "127.0.0.1", port: $0.port), timeoutMillis: 10_000) }
            let script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
            let shas = try clients.map { client -> String in
                guard case .bulkString(let sha) = try client.call(["SCRIPT", "LOAD", script]) else { throw ValidationError("SCRIPT LOAD refused") }
                return String(decoding: sha, as: UTF8.self)
            }
            let raw: (String) throws -> Void = { name in
                // redis-py's Lock: SET NX PX, then its registered release script by SHA.
                for client in clients {
                    guard case .simpleString("OK") = try client.call(["SET", name, token, "NX", "PX", "10000"]) else { throw ValidationError("raw SET NX refused") }
                }
                for (client, sha) in zip(clients, shas) {
                    guard case .integer(1) = try client.call(["EVALSHA", sha, "1", name, token]) else { throw ValidationError("raw release refused") }
                }
            }
            let locker: any Locker = backend == .redis ? try RedisLocker(redis[0].url) : try RedlockLocker(redis.map(\.url))
            return (raw, locker)
        }
    }
}
