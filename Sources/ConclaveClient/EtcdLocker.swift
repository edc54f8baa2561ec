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
        if entry.first { return entry.grant }
        try abandon(entry)
        return nil
    }

    public func lock(_ name: String, ttl: Duration, timeout: Duration) async throws -> LockGrant? {
        let entry = try enqueue(name, ttl: ttl)
        let deadline = ContinuousClock.now + timeout
        let cancelled = Guarded<HTTPConnection?>(nil)
        return try await waitOnOwnThread(onCancel: { cancelled.with { $0?.shutdownConnection() } }) { [self] in
            do {
                if entry.first { return entry.grant }
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

    /// Revokes the acquisition's lease, which deletes its key in the same step: owner-checked by
    /// construction (the lease is this acquisition's alone); a lease already gone is `notOwner`.
    public func unlock(_ grant: LockGrant) async throws {
        do throws(ClientError) {
            _ = try gateway.call("/v3/kv/lease/revoke", ["ID": "\(Self.lease(of: grant.owner))"], idempotent: false)
        } catch {
            if case .refused(_, let message) = error, message.contains("lease not found") {
                throw ClientError.notOwner(lock: grant.name, detail: "the lease of \(grant.owner) expired or was revoked")
            }
            throw error
        }
    }

    public func renew(_ grant: LockGrant) async throws -> LockGrant { try renewBlocking(grant) }

    public func renewBlocking(_ grant: LockGrant) throws -> LockGrant {
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
        /// Ours was the first key under the prefix when it was put: the lock is ours.
        var first: Bool
        var grant: LockGrant
    }

    /// Grants a lease, then in one transaction puts our key under it and reads the prefix's first
    /// key by create revision; our create revision is the transaction's revision.
    private func enqueue(_ name: String, ttl: Duration) throws(ClientError) -> Entry {
        guard !name.isEmpty, name.utf8.count <= 1_024 else { throw ClientError.badArgument("lock name: accepted: 1…1024 bytes") }
        let seconds = max(1, (ttl.millisecondsRoundedUp + 999) / 1_000)
        let sentAt = ContinuousClock.now
        let granted = try gateway.call("/v3/lease/grant", ["TTL": "\(seconds)"])
        let lease = EtcdGateway.int(granted["ID"])
        let grantedTTL = EtcdGateway.int(granted["TTL"])
        guard lease != 0, grantedTTL > 0 else { throw ClientError.badReply(endpoint: gateway.endpointNames, detail: "lease grant: \(granted)") }
        let key = "\(name)/\(String(UInt64(bitPattern: lease), radix: 16))"
        let prefix = name + "/"
        let put = try gateway.call("/v3/kv/txn", ["success": [
            ["request_put": ["key": EtcdGateway.base64(key), "value": "", "lease": "\(lease)"]],
            ["request_range": ["key": EtcdGateway.base64(prefix), "range_end": EtcdGateway.prefixEnd(prefix),
                               "sort_order": "ASCEND", "sort_target": "CREATE", "limit": "1"]],
        ]], idempotent: false)
        let revision = EtcdGateway.revision(put)
        let responses = put["responses"] as? [[String: Any]] ?? []
        let owner = ((responses.last?["response_range"] as? [String: Any])?["kvs"] as? [[String: Any]])?.first
        let validTTL = Duration.seconds(grantedTTL)
        let grant = LockGrant(name: name, owner: key, fencingToken: UInt64(revision), ttl: validTTL,
                              validUntil: sentAt + validTTL - RedisTiming.drift(validTTL))
        return Entry(name: name, key: key, lease: lease, revision: revision,
                     first: owner.map { EtcdGateway.int($0["create_revision"]) == revision } ?? false, grant: grant)
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

    /// Revokes the lease, which deletes our key (a failed or timed-out acquisition).
    private func abandon(_ entry: Entry) throws(ClientError) {
        do throws(ClientError) {
            _ = try gateway.call("/v3/kv/lease/revoke", ["ID": "\(entry.lease)"])
        } catch {
            guard case .refused(_, let message) = error, message.contains("lease not found") else { throw error }
        }
    }

    static func lease(of key: String) -> Int64 {
        Int64(bitPattern: UInt64(key.split(separator: "/").last ?? "", radix: 16) ?? 0)
    }
}
