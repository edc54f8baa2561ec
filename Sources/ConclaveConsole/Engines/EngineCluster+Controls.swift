import ConclaveClient
import ConclaveWire
import Foundation

/// The operator's actions on an existing engine, carried out on the controls queue: take a lock
/// through the client API's `Locker` (the same recipe as every other client), release it (the
/// console's own grant through its Locker; anyone else's by the holder shown, owner-checked),
/// put a key, revoke an etcd lease, move etcd's leader. Each says what it did or why not.
extension EngineCluster {
    public func submit(_ control: ClusterControl) {
        core.controls.async { [self] in
            let outcome = apply(control)
            record(outcome.text, isError: outcome.isError)
        }
    }

    /// Carries out `control` now and returns what happened (tests; `submit` runs it queued).
    public func apply(_ control: ClusterControl) -> (text: String, isError: Bool) {
        let engine: ConsensusEngine = kind == .etcd ? .etcd : .redis
        if let reason = control.unavailability(on: engine) { return (reason, true) }
        do {
            switch control {
            case .lockAcquire(let name, _, let ttlMillis): return (try take(name, ttlMillis: ttlMillis ?? 60_000), false)
            case .lockRelease(let name, _): return (try release(name), false)
            case .engine(.put(let key, let value)): return (try put(key, value), false)
            case .engine(.revokeLease(let id)): return (try revoke(id), false)
            case .transfer(let target): return (try transfer(to: target), false)
            default: return ("\(control) is not carried out on \(kind.rawValue)", true)
            }
        } catch {
            return ("\(error)", true)
        }
    }

    private func locker() throws -> any Locker {
        if kind == .etcd { return try EtcdLocker(credentialURLs, timeoutMillis: settings.timeoutMillis) }
        return credentialURLs.count >= 3 && credentialURLs.count % 2 == 1
            ? try RedlockLocker(credentialURLs) : try RedisLocker(credentialURLs[0], timeoutMillis: settings.timeoutMillis)
    }

    /// A try-lock: the console does not wait in line and does not renew; the grant lapses at its
    /// TTL unless released first.
    private func take(_ name: String, ttlMillis: UInt64) throws -> String {
        let locker = try locker()
        let grant = try runBlocking { try await locker.tryLock(name, ttl: .milliseconds(Int64(ttlMillis))) }
        guard let grant else { return "\(name) is held: try-lock refused (the console does not queue)" }
        withHeld { $0[name] = (locker, grant) }
        let token = grant.fencingToken.map { ", fencing token \($0)" } ?? ", no fencing token"
        return "took \(name) via \(locker.traits.backend) as \(grant.owner)\(token), TTL \(grant.ttl) (not renewed: lock release \(name) or let it lapse)"
    }

    private func release(_ name: String) throws -> String {
        if let mine = withHeld({ $0.removeValue(forKey: name) }) {
            try runBlocking { try await mine.locker.unlock(mine.grant) }
            return "released \(name) (the console's own grant, \(mine.grant.owner))"
        }
        let shown = core.read { $0.snapshot(nowNanos: Self.monotonicNanos()).locks.first { $0.name == name } }
        guard let holder = shown?.holders.first, let owner = holder.owner else {
            throw Failure(description: "\(name) is not held as far as the console has seen (no lock of that name in view 2)")
        }
        return kind == .etcd ? try releaseEtcd(name, lease: holder.session, revision: holder.token) : try releaseRedis(name, owner: owner)
    }

    /// Deletes the holder's key if it is still the one created at `revision`.
    private func releaseEtcd(_ name: String, lease: UInt64, revision: UInt64) throws -> String {
        let key = "\(name)/\(String(lease, radix: 16))"
        let encoded = Data(key.utf8).base64EncodedString()
        let answer = try etcd("/v3/kv/txn", [
            "compare": [["key": encoded, "target": "CREATE", "result": "EQUAL", "create_revision": "\(revision)"]],
            "success": [["request_delete_range": ["key": encoded]]],
        ])
        guard answer.contains("\"succeeded\":true") else {
            throw Failure(description: "\(key) is no longer the key created at revision \(revision): the holder changed; nothing deleted")
        }
        return "released \(name): deleted the holder's key \(key) (create revision \(revision)); the next waiter's watch sees it"
    }

    /// The owner-checked delete on every instance holding `name` for `owner`.
    private func releaseRedis(_ name: String, owner: String) throws -> String {
        var released: [String] = []
        var problems: [String] = []
        for (index, url) in urls.enumerated() {
            do {
                var connection: Connection?
                let reply = try pipeline(try resp(index, &connection),
                                         [["EVAL", RedisLocker.ownerCheckedReleaseSource, "2", name, "\(name):released", owner]])[0]
                if case .integer(1) = reply { released.append(url) }
            } catch {
                problems.append("\(url): \(error)")
            }
        }
        guard !released.isEmpty else {
            throw Failure(description: "\(name) is not held by \(owner) on any instance (it changed or lapsed); nothing deleted"
                          + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; ")))
        }
        return "released \(name) held by \(owner) on \(released.count)/\(urls.count)" + (problems.isEmpty ? "" : "; failed: " + problems.joined(separator: "; "))
    }

    private func put(_ key: String, _ value: String) throws -> String {
        if kind == .etcd {
            let answer = try etcd("/v3/kv/put", ["key": Data(key.utf8).base64EncodedString(), "value": Data(value.utf8).base64EncodedString()])
            let revision = (try? EtcdReport.object(answer, "/v3/kv/put")).flatMap { ($0["header"] as? [String: Any])?["revision"] as? String } ?? "?"
            return "put \(key) = \(value.prefix(60)) (revision \(revision))"
        }
        var done: [String] = []
        for index in urls.indices {
            var connection: Connection?
            _ = try pipeline(try resp(index, &connection), [["SET", key, value]])
            done.append(urls[index])
        }
        return "SET \(key) = \(value.prefix(60)) on \(done.count) instance\(done.count == 1 ? "" : "s")"
    }

    private func revoke(_ hex: String) throws -> String {
        guard let id = UInt64(hex, radix: 16) else { throw Failure(description: "'\(hex)' is not a lease ID in hex") }
        _ = try etcd("/v3/kv/lease/revoke", ["ID": "\(Int64(bitPattern: id))"])
        return "revoked lease \(hex): etcd deleted every key it kept (a lock it held passes to the next waiter)"
    }

    /// etcd's MoveLeader (`/v3/maintenance/transfer-leadership`, in 3.4's gateway): asked of the
    /// current leader, naming the target member.
    private func transfer(to target: NodeRef) throws -> String {
        let (leader, members) = core.read { ($0.agreedLeader, $0.endpoints.map { $0.status?.memberID }) }
        guard let leader, let leaderIndex = members.firstIndex(of: leader) else {
            throw Failure(description: "no agreed leader among the members heard from: nothing to move")
        }
        guard case .id(let number) = target, (1...members.count).contains(Int(number)), let targetID = members[Int(number) - 1] else {
            throw Failure(description: "transfer to \(target): name a member by its row, 1…\(members.count), that has answered")
        }
        guard targetID != leader else { return "member \(number) already leads" }
        var connection: Connection?
        _ = try post(try http(leaderIndex, &connection), "/v3/maintenance/transfer-leadership", ["targetID": "\(targetID)"])
        return "moved etcd's leadership from \(EtcdReport.hex(leader)) to member \(number) (\(EtcdReport.hex(targetID)))"
    }

    /// One etcd call on the first member that answers.
    private func etcd(_ path: String, _ body: [String: Any]) throws -> String {
        var reasons: [String] = []
        for index in addresses.indices {
            var connection: Connection?
            do {
                return try post(try http(index, &connection), path, body)
            } catch let failure as Failure where failure.description.contains(": HTTP ") {
                throw Failure(description: "\(urls[index])\(failure.description)")
            } catch {
                reasons.append("\(urls[index]): \(error)")
            }
        }
        throw Failure(description: "no etcd member answered \(path): " + reasons.joined(separator: "; "))
    }
}
