import ArgumentParser
import ConclaveClient
import ConclaveCluster
import Foundation

/// `conclave lab stale-write`: the pause the seeds warn about, on real servers. A holder pauses past
/// its lease, a second client takes the lock and writes, the first wakes and writes too — on Redis
/// (no token; the store takes the write), etcd (the create revision fences the store) and Conclave
/// (its token, FENCED.SET). Each run's history is judged by the linearizability checker.
struct LabStaleWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stale-write",
        abstract: "A lock holder paused past its lease, on Redis, etcd and Conclave: who lets the stale write in, judged by the checker.",
        discussion: """
            Starts a Redis, a 3-member etcd (apt-get install redis-server etcd-server) and 3 Conclave \
            nodes on loopback, runs the scenario on each, prints what happened and the checker's \
            verdict, and with --history-dir writes each run's history (../shared/HISTORY.md format; \
            `conclave check FILE` judges it again).
            """
    )

    @Option(help: "Backends, comma-separated: redis, etcd, conclave.") var backends = "redis,etcd,conclave"
    @Option(help: "Write each backend's history to DIR/stale-write-BACKEND.jsonl.") var historyDir: String?

    func validate() throws {
        let names = backends.split(separator: ",").map(String.init)
        guard !names.isEmpty, names.allSatisfy({ ["redis", "etcd", "conclave"].contains($0) }) else {
            throw ValidationError("--backends '\(backends)': accepted: a comma-separated subset of redis,etcd,conclave")
        }
    }

    func run() throws {
        let servers = try LocalServers(purpose: "stale-write")
        defer { servers.stop() }
        let port = LocalCluster.randomBasePort(span: 500)
        var failed = false
        for backend in backends.split(separator: ",").map(String.init) {
            let first: any Locker, second: any Locker, resource: any GuardedResource, ttl: Duration
            switch backend {
            case "redis":
                let url = try servers.redis(port: port + 400).url
                (first, second, resource, ttl) = (try RedisLocker(url), try RedisLocker(url), try RedisResource(url), .milliseconds(500))
            case "etcd":
                let urls = try servers.etcd(basePort: port + 300).urls
                (first, second, resource, ttl) = (try EtcdLocker(urls), try EtcdLocker(urls), try EtcdFencedResource(urls), .seconds(1))
            default:
                let url = "redis://\(try servers.conclave(basePort: port).leader)"
                (first, second, resource, ttl) = (try ConclaveLocker([url]), try ConclaveLocker([url]), try ConclaveFencedResource([url]), .milliseconds(500))
            }
            let outcome = try runBlocking {
                try await StaleWriteScenario.run(first: first, second: second, resource: resource, lock: "stale-write", key: "stale-write/resource", ttl: ttl)
            }
            let report = LinearizabilityChecker().check(try HistoryFormat.read(contents: outcome.history.joined(separator: "\n") + "\n"))
            print("\(backend) (\(first.traits.fencing ? "fencing token" : "no fencing token"), \(resource.fenced ? "fenced" : "plain") resource):")
            for line in outcome.narrative { print("  \(line)") }
            print("  checker: \(report.description.replacingOccurrences(of: "\n", with: "\n  "))")
            if let historyDir {
                try FileManager.default.createDirectory(atPath: historyDir, withIntermediateDirectories: true)
                let path = "\(historyDir)/stale-write-\(backend).jsonl"
                try (outcome.history.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                print("  history: \(path)")
            }
            print("")
            // What the lesson expects: only the unfenced store takes the stale write.
            if outcome.staleWriteTaken == resource.fenced { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}
