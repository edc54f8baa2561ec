import ConclaveWire
import Foundation

/// Locks on etcd by its own mutex recipe — the one `etcdctl lock` and Go's `concurrency.Mutex`
/// use, so the three queue behind one another: each acquisition puts the key `name/<lease in hex>`
/// under a lease of the ttl; the holder is the key under `name/` with the lowest create revision;
/// a waiter watches only the key with the next-lower create revision (no thundering herd) and
/// keeps its lease alive while it waits. The create revision is the fencing token: it grows with
/// every acquisition of the name, cluster-wide.
///
/// Leases have whole-second TTLs, at least etcd's minimum (with default timing ~2 s): a ttl is
/// rounded up, and the grant's `ttl` says what etcd granted.
public final class EtcdLocker: Locker, @unchecked Sendable {
    let gateway: EtcdGateway

    public let traits = LockerTraits(
        backend: "etcd", fencing: true, fair: true,
        limits: ["ttl in whole seconds, at least etcd's minimum lease TTL (rounded up; the grant says what etcd gave)"])

    /// `urls`: the members' client URLs, `http://host:port`.
    public init(_ urls: [String], timeoutMillis: Int = 5_000) throws {
        gateway = try EtcdGateway(urls, timeoutMillis: timeoutMillis)
    }

    public func tryLock(_ name: String, ttl: Duration) async throws -> LockGrant? {
        let entry = try enqueue(name, ttl: ttl)
        if try predecessor(of: entry) == nil { return entry.grant }
        try abandon(entry)
        return nil
    }

    public func lock(_ name: String, ttl: Duration, timeout: Duration) async throws -> LockGrant? {
        let entry = try enqueue(name, ttl: ttl)
        let deadline = ContinuousClock.now + timeout
        let cancelled = Guarded<HTTPConnection?>(nil)
        return try await waitOnOwnThread(onCancel: { cancelled.with { $0?.shutdownConnection() } }) { [self] in
            do {
                while let waitingOn = try predecessor(of: entry) {
                    guard try waitForDelete(waitingOn, entry: entry, deadline: deadline, cancelled: cancelled) else {
                        try abandon(entry)
                        return nil
                    }
                }
                // The predecessors are gone; our key must still be there (its lease may have lapsed).
                guard try createRevision(of: entry.key) == entry.revision else {
                    throw ClientError.notOwner(lock: name, detail: "our key \(entry.key) vanished while waiting (lease expired?)")
                }
                return entry.grant
            } catch {
                try? abandon(entry)
                throw error
            }
        }
    }

    public func unlock(_ grant: LockGrant) async throws {
        let key = EtcdGateway.base64(grant.owner)
        let answer = try gateway.call("/v3/kv/txn", [
            "compare": [["target": "CREATE", "key": key, "result": "EQUAL", "create_revision": "\(grant.fencingToken ?? 0)"]],
            "success": [["request_delete_range": ["key": key]]],
        ])
        _ = try? gateway.call("/v3/kv/lease/revoke", ["ID": "\(Self.lease(of: grant.owner))"])
        guard answer["succeeded"] as? Bool == true else {
            throw ClientError.notOwner(lock: grant.name, detail: "key \(grant.owner) at create revision \(grant.fencingToken ?? 0) is gone (lease expired?)")
        }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant {
        let sentAt = ContinuousClock.now
        let answer = try gateway.call("/v3/lease/keepalive", ["ID": "\(Self.lease(of: grant.owner))"])
        let ttl = EtcdGateway.int((answer["result"] as? [String: Any])?["TTL"])
        guard ttl > 0, try createRevision(of: grant.owner) == Int64(grant.fencingToken ?? 0) else {
            throw ClientError.notOwner(lock: grant.name, detail: "lease of \(grant.owner) expired or its key is gone")
        }
        return LockGrant(name: grant.name, owner: grant.owner, fencingToken: grant.fencingToken, ttl: .seconds(ttl),
                         validUntil: sentAt + .seconds(ttl) - RedisTiming.drift(.seconds(ttl)))
    }

    // MARK: The recipe

    struct Entry {
        var name: String
        var key: String
        var lease: Int64
        var revision: Int64
        var grant: LockGrant
    }

    /// Grants a lease and puts our key under it; our create revision is the put's revision.
    private func enqueue(_ name: String, ttl: Duration) throws(ClientError) -> Entry {
        guard !name.isEmpty, name.utf8.count <= 1_024 else { throw ClientError.badArgument("lock name: accepted: 1…1024 bytes") }
        let seconds = max(1, (ttl.millisecondsRoundedUp + 999) / 1_000)
        let sentAt = ContinuousClock.now
        let granted = try gateway.call("/v3/lease/grant", ["TTL": "\(seconds)"])
        let lease = EtcdGateway.int(granted["ID"])
        let grantedTTL = EtcdGateway.int(granted["TTL"])
        guard lease != 0, grantedTTL > 0 else { throw ClientError.badReply(endpoint: gateway.endpointNames, detail: "lease grant: \(granted)") }
        let key = "\(name)/\(String(UInt64(bitPattern: lease), radix: 16))"
        let put = try gateway.call("/v3/kv/put", ["key": EtcdGateway.base64(key), "value": "", "lease": "\(lease)"])
        let revision = EtcdGateway.revision(put)
        let validTTL = Duration.seconds(grantedTTL)
        let grant = LockGrant(name: name, owner: key, fencingToken: UInt64(revision), ttl: validTTL,
                              validUntil: sentAt + validTTL - RedisTiming.drift(validTTL))
        return Entry(name: name, key: key, lease: lease, revision: revision, grant: grant)
    }

    /// The key just ahead of ours (highest create revision below ours), or nil if we hold the lock.
    private func predecessor(of entry: Entry) throws(ClientError) -> (key: String, revision: Int64)? {
        let prefix = entry.name + "/"
        let answer = try gateway.call("/v3/kv/range", [
            "key": EtcdGateway.base64(prefix), "range_end": EtcdGateway.prefixEnd(prefix),
            "max_create_revision": "\(entry.revision - 1)", "sort_order": "DESCEND", "sort_target": "CREATE", "limit": "1",
        ])
        guard let kv = (answer["kvs"] as? [[String: Any]])?.first, let key = EtcdGateway.text(kv["key"]) else { return nil }
        return (key, EtcdGateway.int(kv["create_revision"]))
    }

    private func createRevision(of key: String) throws(ClientError) -> Int64 {
        let answer = try gateway.call("/v3/kv/range", ["key": EtcdGateway.base64(key)])
        return (answer["kvs"] as? [[String: Any]])?.first.map { EtcdGateway.int($0["create_revision"]) } ?? 0
    }

    /// Watches `waitingOn` until it is deleted (true) or the deadline passes (false), keeping our
    /// lease alive meanwhile.
    private func waitForDelete(
        _ waitingOn: (key: String, revision: Int64), entry: Entry, deadline: ContinuousClock.Instant, cancelled: Guarded<HTTPConnection?>
    ) throws(ClientError) -> Bool {
        let keepAliveEvery = max(Duration.milliseconds(200), entry.grant.ttl / 3)
        let stream = try gateway.streamConnection(readTimeoutMillis: Int(min(keepAliveEvery, .seconds(1)).millisecondsRoundedUp))
        cancelled.with { $0 = stream }
        defer { cancelled.with { $0 = nil } }
        do throws(RESPClient.Failure) {
            // From the revision our key was created at: a delete after it is in the watch.
            _ = try stream.openStream("/v3/watch", EtcdGateway.encode(["create_request": [
                "key": EtcdGateway.base64(waitingOn.key), "start_revision": "\(entry.revision)"]]))
        } catch {
            throw ClientError.unreachable("\(stream.address): \(error)")
        }
        var lastKeepAlive = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if ContinuousClock.now - lastKeepAlive >= keepAliveEvery {
                _ = try gateway.call("/v3/lease/keepalive", ["ID": "\(entry.lease)"])
                lastKeepAlive = .now
            }
            let chunk: String
            do throws(RESPClient.Failure) {
                switch try stream.nextChunkOrTimeout() {
                case .chunk(let text): chunk = text
                case .timedOut: continue  // keep the lease alive, look again
                case .ended: throw RESPClient.Failure(description: "the watch ended")
                }
            } catch {
                throw ClientError.unreachable("\(stream.address): watch: \(error)")
            }
            let result = ((try? JSONSerialization.jsonObject(with: Data(chunk.utf8))) as? [String: Any])?["result"] as? [String: Any]
            let events = result?["events"] as? [[String: Any]] ?? []
            if events.contains(where: { $0["type"] as? String == "DELETE" }) { return true }
        }
        return false
    }

    /// Deletes our key and revokes its lease (a failed or timed-out acquisition).
    private func abandon(_ entry: Entry) throws(ClientError) {
        _ = try gateway.call("/v3/kv/deleterange", ["key": EtcdGateway.base64(entry.key)])
        _ = try? gateway.call("/v3/kv/lease/revoke", ["ID": "\(entry.lease)"])
    }

    static func lease(of key: String) -> Int64 {
        Int64(bitPattern: UInt64(key.split(separator: "/").last ?? "", radix: 16) ?? 0)
    }
}
