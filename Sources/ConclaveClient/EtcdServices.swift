import ConclaveWire
import Foundation

/// IDs and config on etcd: IDs from a counter key moved by compare-and-swap transactions; config
/// as plain keys whose mod revision is the revision, and watches through the gateway's stream,
/// resumable from any revision etcd has not compacted. Throttles and delay queues are refused:
/// etcd has no clock a transaction can read and no timers (see `take` and `schedule`).
public final class EtcdServices: IDSource, Throttle, DelayQueue, ConfigStore, @unchecked Sendable {
    let gateway: EtcdGateway
    let namespace: String

    public init(_ urls: [String], namespace: String = "conclave", timeoutMillis: Int = 5_000) throws {
        gateway = try EtcdGateway(urls, timeoutMillis: timeoutMillis)
        self.namespace = namespace
    }

    // MARK: IDs

    public func next(_ count: Int) async throws -> [UInt64] {
        guard (1...1_000).contains(count) else { throw ClientError.badArgument("count \(count): accepted: 1…1000") }
        let key = EtcdGateway.base64("\(namespace)/ids")
        for _ in 0..<100 {
            let current = try gateway.call("/v3/kv/range", ["key": key])
            let kv = (current["kvs"] as? [[String: Any]])?.first
            let last = UInt64(EtcdGateway.text(kv?["value"]) ?? "0") ?? 0
            let modRevision = EtcdGateway.int(kv?["mod_revision"])
            let swapped = try gateway.call("/v3/kv/txn", [
                "compare": [["target": "MOD", "key": key, "result": "EQUAL", "mod_revision": "\(modRevision)"]],
                "success": [["request_put": ["key": key, "value": EtcdGateway.base64("\(last + UInt64(count))")]]],
            ])
            if swapped["succeeded"] as? Bool == true { return (1...UInt64(count)).map { last + $0 } }
        }
        throw ClientError.refused(endpoint: gateway.endpointNames, message: "IDs: 100 compare-and-swap rounds lost to other clients")
    }

    // MARK: Refused, with why

    public func take(_ key: String, burst: Int, count: Int, period: Duration, quantity: Int) async throws -> ThrottleDecision {
        throw ClientError.unsupported(
            backend: "etcd", what: "meter a throttle",
            why: "a transaction cannot read a clock, so a rate would be metered on the clients' clocks; use Conclave's THROTTLE or Redis")
    }

    public func schedule(_ queue: String, payload: String, after delay: Duration) async throws -> String {
        throw ClientError.unsupported(
            backend: "etcd", what: "run a delay queue",
            why: "it has no timers: something outside etcd would have to fire every deadline; use Conclave's SCHED or Redis")
    }

    public func pop(_ queue: String, count: Int, visibility: Duration) async throws -> [DelayedMessage] {
        throw ClientError.unsupported(backend: "etcd", what: "run a delay queue", why: "it has no timers")
    }

    public func ack(_ queue: String, _ message: DelayedMessage) async throws {
        throw ClientError.unsupported(backend: "etcd", what: "run a delay queue", why: "it has no timers")
    }

    // MARK: Config

    public func get(_ key: String) async throws -> (value: String, revision: UInt64)? {
        let answer = try gateway.call("/v3/kv/range", ["key": EtcdGateway.base64(key)])
        guard let kv = (answer["kvs"] as? [[String: Any]])?.first else { return nil }
        return (EtcdGateway.text(kv["value"]) ?? "", UInt64(EtcdGateway.int(kv["mod_revision"])))
    }

    public func set(_ key: String, _ value: String) async throws -> UInt64 {
        UInt64(EtcdGateway.revision(try gateway.call("/v3/kv/put", ["key": EtcdGateway.base64(key), "value": EtcdGateway.base64(value)], idempotent: false)))
    }

    public func delete(_ key: String) async throws -> UInt64 {
        UInt64(EtcdGateway.revision(try gateway.call("/v3/kv/deleterange", ["key": EtcdGateway.base64(key)], idempotent: false)))
    }

    public func watch(_ prefix: String, after revision: UInt64) -> AsyncThrowingStream<ConfigEvent, Error> {
        let gateway = gateway
        return fedStream { feed, yield in
            let http = try gateway.streamConnection(readTimeoutMillis: 1_000)
            feed.reading { http.shutdownConnection() }
            var request: [String: Any] = ["key": EtcdGateway.base64(prefix), "range_end": EtcdGateway.prefixEnd(prefix)]
            if revision > 0 { request["start_revision"] = "\(revision + 1)" }
            do throws(RESPClient.Failure) {
                _ = try http.openStream("/v3/watch", EtcdGateway.encode(["create_request": request]))
            } catch {
                throw ClientError.unreachable("\(http.address): \(error)")
            }
            while !feed.stopped {
                let chunk: String
                do throws(RESPClient.Failure) {
                    switch try http.nextChunkOrTimeout() {
                    case .chunk(let text): chunk = text
                    case .timedOut: continue
                    case .ended: throw RESPClient.Failure(description: "the watch ended")
                    }
                } catch {
                    if feed.stopped { return }
                    throw ClientError.unreachable("\(http.address): watch: \(error)")
                }
                guard let result = ((try? JSONSerialization.jsonObject(with: Data(chunk.utf8))) as? [String: Any])?["result"] as? [String: Any] else {
                    continue
                }
                let compacted = EtcdGateway.int(result["compact_revision"])
                if compacted > 0 { throw ClientError.compacted(revision: revision, oldest: UInt64(compacted)) }
                for event in result["events"] as? [[String: Any]] ?? [] {
                    guard let kv = event["kv"] as? [String: Any], let key = EtcdGateway.text(kv["key"]) else { continue }
                    let deleted = event["type"] as? String == "DELETE"
                    yield(ConfigEvent(key: key, value: deleted ? nil : (EtcdGateway.text(kv["value"]) ?? ""),
                                                   revision: UInt64(EtcdGateway.int(kv["mod_revision"]))))
                }
            }
        }
    }
}
