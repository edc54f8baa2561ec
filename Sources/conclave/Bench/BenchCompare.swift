import ArgumentParser
import ConclaveClient
import ConclaveWire
import Foundation
import Histogram
import Synchronization

/// `conclave bench compare`: the race. A 3-member etcd (fsync on), a Redis (AOF, fsync every
/// second) and 3 Conclave nodes (fsync on), all on this machine's loopback, driven by one load
/// generator — a thread and a blocking connection per client, the same for every system — through
/// the same workloads: writes, uncontended lock cycles and contended lock cycles, each system with
/// its own way of locking (etcd's lock service, which is its mutex recipe run by the server: a key
/// under the lock's prefix with a lease, waiting for the earlier keys to go; Redis's SET NX PX with
/// a compare-and-delete script and a retry loop; Conclave's LOCK.ACQUIRE / LOCK.RELEASE).
struct BenchCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Conclave against a 3-member etcd and a Redis on this machine: writes and lock cycles, same load generator.",
        discussion: """
            Needs etcd (apt-get install etcd-server) and redis-server (apt-get install redis-server). \
            Rows: throughput with p50/p99 latency per system, workload and client count; then the ratios \
            the issue sets targets for. With --json, one object per line, for scripts/bench-compare's plot.
            """
    )

    @OptionGroup var options: BenchOptions
    @Option(help: "Seconds per workload and client count (0.5…600).") var seconds = 3.0
    @Option(help: "Client counts for writes and uncontended locks, comma-separated.") var clients = "1,8,64"
    @Option(help: "Client counts for the contended lock (all on one name), comma-separated.") var contended = "8,64"
    @Option(help: "Systems to race, comma-separated: conclave, etcd, redis.") var systems = "conclave,etcd,redis"
    @Option(help: "Redis lock clients wait this long between tries (ms): the spinning client's pause; 100 is redis-py Lock's default sleep.")
    var redisRetryMillis = 100
    @Option(help: "Directory for every system's data (default: a temporary one, removed after).") var dir: String?
    @Option(help: "Also write the rows as JSON lines to this file (for the plot).") var output: String?

    func validate() throws {
        guard (0.5...600).contains(seconds) else { throw ValidationError("--seconds \(seconds): accepted: 0.5…600") }
        for (flag, list) in [("--clients", clients), ("--contended", contended)] {
            guard let counts = Self.counts(list), !counts.isEmpty, counts.allSatisfy({ (1...256).contains($0) }) else {
                throw ValidationError("\(flag) '\(list)': accepted: comma-separated client counts in 1…256")
            }
        }
        guard let names = Self.systemList(systems), !names.isEmpty else {
            throw ValidationError("--systems '\(systems)': accepted: a comma-separated subset of \(RaceSystem.allCases.map(\.rawValue).joined(separator: ","))")
        }
        _ = names
        guard (0...1_000).contains(redisRetryMillis) else { throw ValidationError("--redis-retry-millis \(redisRetryMillis): accepted: 0…1000") }
    }

    static func counts(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return values.contains(nil) ? nil : values.compactMap { $0 }
    }

    static func systemList(_ text: String) -> [RaceSystem]? {
        let values = text.split(separator: ",").map { RaceSystem(rawValue: String($0)) }
        return values.contains(nil) ? nil : values.compactMap { $0 }
    }

    func run() throws {
        let servers = try LocalServers(purpose: "race", directory: dir)
        defer { servers.stop() }
        let port = LocalCluster.randomBasePort(span: 500)
        var targets: [RaceSystem: RaceTarget] = [:]
        let chosen = Self.systemList(systems) ?? []
        if chosen.contains(.conclave) {
            targets[.conclave] = .resp(try servers.conclave(basePort: port).leader)
        }
        if chosen.contains(.etcd) {
            let etcd = try servers.etcd(basePort: port + 300)
            targets[.etcd] = .etcd(PeerAddress(host: "127.0.0.1", port: etcd.clientPorts[0]))
        }
        if chosen.contains(.redis) {
            let redis = try servers.redis(port: port + 400)
            targets[.redis] = .resp(PeerAddress(host: "127.0.0.1", port: redis.port))
        }
        var results: [RaceResult] = []
        for workload in RaceWorkload.allCases {
            let counts = workload == .contendedLock ? (Self.counts(contended) ?? []) : (Self.counts(clients) ?? [])
            for count in counts {
                for system in chosen {
                    guard let target = targets[system] else { continue }
                    results.append(try race(workload, system: system, target: target, clients: count))
                }
            }
        }
        var rows = results.map(\.row)
        rows += RaceResult.ratios(results)
        BenchReport.emit(rows, json: options.json)
        if let output {
            try (rows.map(\.jsonLine).joined(separator: "\n") + "\n").write(toFile: output, atomically: true, encoding: .utf8)
        }
    }

    /// One workload on one system with `count` clients for `seconds`: each client a thread.
    private func race(_ workload: RaceWorkload, system: RaceSystem, target: RaceTarget, clients count: Int) throws -> RaceResult {
        let drivers = try (0..<count).map { index in
            try RaceDriver(system: system, target: target, client: index, redisRetryMillis: redisRetryMillis)
        }
        let run = "\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        let histograms = Mutex<[Histogram<UInt64>]>([])
        let wasted = Mutex<UInt64>(0)
        let failure = Mutex<(any Error)?>(nil)
        let start = BenchClock.nanoseconds()
        let end = start + UInt64(seconds * 1e9)
        // One thread per client (concurrentPerform would run only as many at once as there are
        // cores, and a 64-client row would measure two).
        let finished = DispatchGroup()
        let clientBody: @Sendable (Int) -> Void = { index in
            var histogram = BenchClock.latencyHistogram()
            var tries: UInt64 = 0
            do {
                var sequence = 0
                while BenchClock.nanoseconds() < end {
                    sequence += 1
                    let began = BenchClock.nanoseconds()
                    switch workload {
                    case .put:
                        try drivers[index].put(key: "race:\(run):\(index):\(sequence % 1_000)", value: String(repeating: "v", count: 128))
                    case .uncontendedLock:
                        tries += try drivers[index].lockCycle(name: "race-lock:\(run):\(index % 64)") - 1
                    case .contendedLock:
                        tries += try drivers[index].lockCycle(name: "race-lock:\(run):one") - 1
                    }
                    _ = histogram.record(BenchClock.nanoseconds() - began)
                }
            } catch {
                failure.withLock { $0 = error }
            }
            histograms.withLock { $0.append(histogram) }
            wasted.withLock { $0 += tries }
        }
        for index in 0..<count {
            finished.enter()
            let thread = Thread {
                clientBody(index)
                finished.leave()
            }
            thread.stackSize = 512 << 10
            thread.start()
        }
        finished.wait()
        let elapsed = BenchClock.nanoseconds() - start
        if let error = failure.withLock({ $0 }) {
            throw ValidationError("bench compare: \(system.rawValue), \(workload.title(count)): \(error)")
        }
        var merged = BenchClock.latencyHistogram()
        for histogram in histograms.withLock({ $0 }) { merged.add(histogram) }
        return RaceResult(workload: workload, system: system, clients: count,
                          perSecond: Double(merged.totalCount) / (Double(elapsed) / 1e9), histogram: merged,
                          wastedPerCycle: merged.totalCount > 0 ? Double(wasted.withLock { $0 }) / Double(merged.totalCount) : 0)
    }
}

enum RaceSystem: String, CaseIterable, Sendable {
    case conclave, etcd, redis
}

enum RaceTarget {
    case resp(PeerAddress)
    case etcd(PeerAddress)
}

enum RaceWorkload: CaseIterable {
    case put, uncontendedLock, contendedLock

    func title(_ clients: Int) -> String {
        let who = "\(clients) client\(clients == 1 ? "" : "s")"
        switch self {
        case .put: return "put/SET 128 B, \(who)"
        case .uncontendedLock: return "lock cycle, 64 names, \(who)"
        case .contendedLock: return "lock cycle, one name, \(who)"
        }
    }

    var unit: String { self == .put ? "ops/s" : "cycles/s" }
}

/// One client's connection to one system, and the system's way of doing each operation.
final class RaceDriver: @unchecked Sendable {  // one thread uses it
    let system: RaceSystem
    private var resp: RESPClient?
    private var http: HTTPConnection?
    private var lease: String?
    private let retryMillis: Int
    private let token: String

    init(system: RaceSystem, target: RaceTarget, client: Int, redisRetryMillis: Int) throws {
        self.system = system
        retryMillis = redisRetryMillis
        token = "c\(client)-\(UInt64.random(in: 0..<UInt64.max))"
        switch target {
        case .resp(let address):
            let connection = try RESPClient(address, timeoutMillis: 30_000)
            resp = connection
            if system == .conclave {
                guard case .integer = try connection.call(["SESSION.OPEN", "60000"]) else {
                    throw ValidationError("SESSION.OPEN was refused")
                }
            }
        case .etcd(let address):
            let connection = try HTTPConnection(address, timeoutMillis: 30_000)
            http = connection
            let granted = try connection.post("/v3/lease/grant", #"{"TTL":60}"#)
            guard granted.status == 200, let id = Self.jsonString(granted.body, field: "ID") else {
                throw ValidationError("etcd lease grant answered \(granted.status): \(granted.body.prefix(200))")
            }
            lease = id
        }
    }

    func put(key: String, value: String) throws {
        if let http {
            let answer = try http.post("/v3/kv/put", #"{"key":"\#(Self.base64(key))","value":"\#(Self.base64(value))"}"#)
            guard answer.status == 200 else { throw ValidationError("etcd put answered \(answer.status): \(answer.body.prefix(200))") }
            return
        }
        guard case .simpleString("OK") = try resp!.call(["SET", key, value]) else { throw ValidationError("SET was refused") }
    }

    /// Acquires `name` and releases it; returns how many tries the acquire took (1: at once).
    func lockCycle(name: String) throws -> UInt64 {
        switch system {
        case .conclave:
            guard case .integer = try resp!.call(["LOCK.ACQUIRE", name, "30000"]) else { throw ValidationError("LOCK.ACQUIRE timed out") }
            guard case .simpleString("OK") = try resp!.call(["LOCK.RELEASE", name]) else { throw ValidationError("LOCK.RELEASE was refused") }
            return 1
        case .redis:
            var tries: UInt64 = 0
            while true {
                tries += 1
                if case .simpleString("OK") = try resp!.call(["SET", name, token, "NX", "PX", "30000"]) { break }
                if retryMillis > 0 { usleep(useconds_t(retryMillis * 1_000)) }
            }
            let script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
            guard case .integer(1) = try resp!.call(["EVAL", script, "1", name, token]) else {
                throw ValidationError("the compare-and-delete found another holder")
            }
            return tries
        case .etcd:
            let locked = try http!.post("/v3/lock/lock", #"{"name":"\#(Self.base64(name))","lease":"\#(lease!)"}"#)
            guard locked.status == 200, let key = Self.jsonString(locked.body, field: "key") else {
                throw ValidationError("etcd lock answered \(locked.status): \(locked.body.prefix(200))")
            }
            let unlocked = try http!.post("/v3/lock/unlock", #"{"key":"\#(key)"}"#)
            guard unlocked.status == 200 else { throw ValidationError("etcd unlock answered \(unlocked.status): \(unlocked.body.prefix(200))") }
            return 1
        }
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// A string field's value in a flat JSON answer (etcd's gateway writes int64s as strings).
    static func jsonString(_ body: String, field: String) -> String? {
        guard let range = body.range(of: "\"\(field)\":\"") else { return nil }
        let rest = body[range.upperBound...]
        guard let close = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<close])
    }
}

/// One row of the race, and the ratios the issue sets targets for.
struct RaceResult {
    var workload: RaceWorkload
    var system: RaceSystem
    var clients: Int
    var perSecond: Double
    var histogram: Histogram<UInt64>
    var wastedPerCycle: Double

    var row: BenchResult {
        var name = "\(workload.title(clients)): \(system.rawValue)"
        if system == .redis && workload != .put { name += String(format: " (%.2f wasted tries per cycle)", wastedPerCycle) }
        return BenchResult(name: name, unit: workload.unit, value: perSecond, histogram: histogram)
    }

    /// Conclave's throughput over etcd's and Redis's, and p99 over p99, for each workload and count.
    static func ratios(_ results: [RaceResult]) -> [BenchResult] {
        var rows: [BenchResult] = []
        for conclave in results where conclave.system == .conclave {
            for other in results where other.system != .conclave && other.workload == conclave.workload && other.clients == conclave.clients {
                let p99 = Double(conclave.histogram.valueAtPercentile(99)), otherP99 = Double(other.histogram.valueAtPercentile(99))
                rows.append(BenchResult(name: "  ratio conclave ÷ \(other.system.rawValue), \(conclave.workload.title(conclave.clients)): throughput",
                                        unit: "×", value: other.perSecond > 0 ? conclave.perSecond / other.perSecond : .nan,
                                        p50: .nan, p99: .nan, n: 0))
                rows.append(BenchResult(name: "  ratio conclave ÷ \(other.system.rawValue), \(conclave.workload.title(conclave.clients)): p99 latency",
                                        unit: "×", value: otherP99 > 0 ? p99 / otherP99 : .nan, p50: .nan, p99: .nan, n: 0))
            }
        }
        return rows
    }
}

/// The race's Conclave cluster, for the signal handler to stop.
final class ClusterBox: @unchecked Sendable {
    var cluster: LocalCluster?
}
