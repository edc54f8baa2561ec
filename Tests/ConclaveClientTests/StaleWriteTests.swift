import ConclaveClient
import ConclaveCluster
import Foundation
import Testing

/// The teaching test: a holder paused past its lease. On Redis (no fencing token, a resource that
/// takes every write) the stale write lands and the checker rejects the history; with etcd's create
/// revision or Conclave's token, the fenced resource refuses it and the history is linearizable.
@Suite struct StaleWriteTests {
    static func run(_ backend: Backend) async throws -> (StaleWriteScenario.Outcome, CheckReport) {
        let engines = try Engines.shared()
        let resource: any GuardedResource = switch backend {
        case .redis, .redlock: try RedisResource(engines.redis[0].url)
        case .etcd: try EtcdFencedResource(engines.etcd.urls)
        case .conclave: try ConclaveFencedResource(engines.conclaveURLs)
        }
        let suffix = UUID().uuidString.prefix(8)
        let outcome = try await StaleWriteScenario.run(
            first: try backend.locker(engines), second: try backend.locker(engines), resource: resource,
            lock: "stale-\(suffix)", key: "resource-\(suffix)", ttl: backend.shortTTL)
        let operations = try HistoryFormat.read(contents: outcome.history.joined(separator: "\n") + "\n")
        return (outcome, LinearizabilityChecker().check(operations))
    }

    @Test("Redis: the paused holder's write lands after the new holder's, and the checker rejects the history")
    func redisTakesTheStaleWrite() async throws {
        let (outcome, report) = try await Self.run(.redis)
        #expect(outcome.staleWriteTaken)
        #expect(outcome.finalValue == "written-by-1")
        #expect(report.verdict == .notLinearizable, "\(report)\n\(outcome.history.joined(separator: "\n"))")
    }

    @Test("etcd and Conclave: the fenced resource refuses the stale token, and the history is linearizable",
          arguments: [Backend.etcd, .conclave])
    func fencedRefusesTheStaleWrite(_ backend: Backend) async throws {
        let (outcome, report) = try await Self.run(backend)
        #expect(!outcome.staleWriteTaken, "\(outcome.narrative)")
        #expect(outcome.finalValue == "written-by-2")
        #expect(report.verdict == .linearizable, "\(report)\n\(outcome.history.joined(separator: "\n"))")
    }
}
