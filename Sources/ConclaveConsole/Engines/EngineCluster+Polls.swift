import ConclaveClient
import ConclaveWire
import Foundation

/// One round of each poller: I/O only; every answer is parsed by `EtcdReport` / `RedisReport`
/// and handed to the builder with its arrival time.
extension EngineCluster {
    // MARK: - etcd

    /// POSTs `body` to `path` on `connection`; the answer's text, or a failure naming the path and
    /// what the server said (a server without this API answers 404 or not HTTP at all).
    func post(_ connection: HTTPConnection, _ path: String, _ body: [String: Any]) throws -> String {
        let text = String(decoding: (try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8), as: UTF8.self)
        let answer: (status: Int, body: String)
        do throws(RESPClient.Failure) {
            answer = try connection.post(path, text)
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
        guard answer.status == 200 else {
            let message = (try? EtcdReport.object(answer.body, path)).map { _ in answer.body } ?? answer.body
            throw Failure(description: "\(path): HTTP \(answer.status): \(message.prefix(200))"
                          + (answer.status == 404 ? " (not an etcd v3 JSON gateway, or too old: etcd 3.4+ serves /v3/)" : ""))
        }
        return answer.body
    }

    func http(_ index: Int, _ connection: inout Connection?) throws -> HTTPConnection {
        if case .http(let open)? = connection { return open }
        var token: String?
        do throws(ClientError) {
            let open = try endpoints[index].openHTTP(timeoutMillis: settings.timeoutMillis, token: &token)
            connection = .http(open)
            return open
        } catch {
            throw Failure(description: "cannot connect: \(error)")
        }
    }

    func pollStatus(_ index: Int, _ connection: inout Connection?) throws {
        let status = try EtcdReport.status(try post(try http(index, &connection), "/v3/maintenance/status", [:]))
        update { $0.take(status, from: index, atNanos: Self.monotonicNanos()) }
    }

    /// Members, alarms, lock keys and leases from the first member that answers all of them.
    func pollCluster(_ connection: inout Connection?) throws {
        var reasons: [String] = []
        for index in addresses.indices {
            var open: Connection? = nil
            do {
                let round = try clusterRound(try http(index, &open))
                update { $0.take(round, atNanos: Self.monotonicNanos()) }
                return
            } catch {
                reasons.append("\(urls[index]): \(error)")
            }
        }
        throw Failure(description: "members, alarms, locks and leases unread: " + reasons.joined(separator: "; "))
    }

    private func clusterRound(_ connection: HTTPConnection) throws -> EtcdReport.ClusterRound {
        var round = EtcdReport.ClusterRound()
        round.members = try EtcdReport.members(try post(connection, "/v3/cluster/member/list", [:]))
        round.alarms = try EtcdReport.alarms(try post(connection, "/v3/maintenance/alarm", ["action": "GET"]))
        let scope = lockScope ?? ""
        let range = try EtcdReport.keys(try post(connection, "/v3/kv/range", [
            "key": Data((scope.isEmpty ? "\0" : scope).utf8).base64EncodedString(),
            "range_end": scope.isEmpty ? Data([0]).base64EncodedString() : EtcdEncoding.prefixEnd(scope),
            "keys_only": true, "limit": "\(Self.keysMax)",
        ]))
        round.keys = range.keys
        round.keysTruncated = range.more
        round.revision = range.revision
        let ids = try EtcdReport.leaseIDs(try post(connection, "/v3/kv/lease/leases", [:]))
        round.leaseCount = ids.count
        // Leases that hold lock keys first, so every holder's TTL is read even past the limit.
        let locking = Set(round.keys.filter { EtcdReport.mutexName($0) != nil }.map(\.lease))
        let chosen = (ids.filter { locking.contains($0) } + ids.filter { !locking.contains($0) }).prefix(ForeignEngineSnapshot.leasesMax)
        for id in chosen {
            round.leases.append(try EtcdReport.timeToLive(try post(connection, "/v3/kv/lease/timetolive", ["ID": "\(id)", "keys": true])))
        }
        return round
    }

    /// Keys one round reads under the lock prefix, at most.
    static let keysMax = 10_000

    /// Watches the prefix from the revision after the last event seen (resuming where a broken
    /// stream stopped), handing each chunk's events to the builder until the stream fails.
    func watch(_ connection: inout Connection?) throws {
        let prefix = watchPrefix ?? ""
        var reasons: [String] = []
        var stream: HTTPConnection?
        var request: [String: Any] = ["key": Data(prefix.utf8).base64EncodedString(), "range_end": EtcdEncoding.prefixEnd(prefix)]
        if let next = core.read({ $0.watchResumeRevision }) { request["start_revision"] = "\(next)" }
        let body = String(decoding: (try? JSONSerialization.data(withJSONObject: ["create_request": request])) ?? Data(), as: UTF8.self)
        for index in addresses.indices where stream == nil {
            do {
                var token: String?
                let open = try endpoints[index].openHTTP(timeoutMillis: 500, token: &token)
                _ = try open.openStream("/v3/watch", body)
                stream = open
            } catch {
                reasons.append("\(urls[index]): \(error)")
            }
        }
        guard let stream else { throw Failure(description: "cannot open /v3/watch: " + reasons.joined(separator: "; ")) }
        while !isStopped {
            let read: HTTPConnection.StreamRead
            do throws(RESPClient.Failure) { read = try stream.nextChunkOrTimeout() } catch { throw Failure(description: "\(stream.address): \(error)") }
            switch read {
            case .timedOut: continue
            case .ended: throw Failure(description: "\(stream.address): the watch stream ended")
            case .chunk(let text):
                let parsed = try EtcdReport.watch(text)
                if let reason = parsed.cancelled { throw Failure(description: "\(stream.address): etcd cancelled the watch: \(reason)") }
                if !parsed.events.isEmpty { update { $0.take(parsed.events, atNanos: Self.monotonicNanos()) } }
            }
        }
    }

    // MARK: - Redis

    func resp(_ index: Int, _ connection: inout Connection?) throws -> RESPClient {
        if case .resp(let open)? = connection { return open }
        do throws(ClientError) {
            let open = try endpoints[index].openRESP(timeoutMillis: settings.timeoutMillis, readBufferBytes: 256 << 10)
            connection = .resp(open)
            return open
        } catch {
            throw Failure(description: "cannot connect: \(error)")
        }
    }

    /// Runs `commands` in one pipeline; an error reply to any is a failure naming the command.
    func pipeline(_ client: RESPClient, _ commands: [[String]], errorsAllowed: Bool = false) throws -> [RESPValue] {
        let replies: [RESPValue]
        do throws(RESPClient.Failure) { replies = try client.pipeline(commands) } catch { throw Failure(description: "\(error)") }
        if !errorsAllowed {
            for (command, reply) in zip(commands, replies) {
                if case .error(let message) = reply { throw Failure(description: "\(command.prefix(2).joined(separator: " ")) refused: \(message)") }
            }
        }
        return replies
    }

    func pollRedis(_ index: Int, _ connection: inout Connection?) throws {
        let client = try resp(index, &connection)
        let sections = try pipeline(client, ["server", "replication", "memory", "keyspace"].map { ["INFO", $0] })
        var info: [String: String] = [:]
        for section in sections { info.merge(RedisReport.info(RedisReport.text(section) ?? "")) { _, new in new } }
        var keys: [String] = []
        var cursor = "0"
        repeat {
            let page = try pipeline(client, [["SCAN", cursor, "MATCH", lockScope ?? "*", "COUNT", "1000"]])[0]
            guard case .array(let parts) = page, parts.count == 2, let next = RedisReport.text(parts[0]) else {
                throw Failure(description: "SCAN answered \(String(describing: page).prefix(80)), not [cursor, keys]")
            }
            cursor = next
            keys += RedisReport.members(parts[1])
        } while cursor != "0" && keys.count < RedisReport.scannedMax
        let truncated = cursor != "0"
        keys = Array(Set(keys.prefix(RedisReport.scannedMax))).sorted()
        var locks: [RedisReport.LockKey] = []
        for batch in stride(from: 0, to: keys.count, by: 1_000).map({ Array(keys[$0..<min($0 + 1_000, keys.count)]) }) {
            let replies = try pipeline(client, batch.flatMap(RedisReport.probe), errorsAllowed: true)
            locks += RedisReport.locks(keys: batch, replies: replies)
        }
        let shown = Array(locks.prefix(ForeignEngineSnapshot.locksMax))
        var waiters: [String: [String]] = [:]
        if !shown.isEmpty {
            let queues = try pipeline(client, shown.map { ["ZRANGE", "\($0.name):waiters", "0", "63"] }, errorsAllowed: true)
            for (lock, queue) in zip(shown, queues) where !RedisReport.members(queue).isEmpty { waiters[lock.name] = RedisReport.members(queue) }
        }
        let report = RedisReport(info: info, locks: shown, waiters: waiters, truncated: truncated || locks.count > shown.count)
        update { $0.take(report, from: index, atNanos: Self.monotonicNanos()) }
    }
}
