/// Locks as the engines keep them: etcd's mutex recipe (holder = the key under `name/` with the
/// lowest create revision, waiters after it in create-revision order; the create revision is the
/// fencing token) and Redis lock keys (owner = the value, TTL = the PTTL; on several independent
/// instances, Redlock's view: on how many the name is held and whether the owners agree).
extension EngineSnapshotBuilder {
    func locks(nowNanos now: UInt64) -> [LockSnapshot] {
        kind == .etcd ? etcdLocks(nowNanos: now) : redisLocks(nowNanos: now)
    }

    private func etcdLocks(nowNanos now: UInt64) -> [LockSnapshot] {
        guard let round else { return [] }
        let elapsedMillis = (now - min(now, roundNanos)) / 1_000_000
        var leases: [Int64: EtcdReport.LeaseTTL] = [:]
        for lease in round.leases { leases[lease.id] = lease }
        var byName: [String: [EtcdReport.KeyEntry]] = [:]
        for entry in round.keys where lockScope.map({ entry.key.hasPrefix($0) }) ?? true {
            guard let name = EtcdReport.mutexName(entry) else { continue }
            byName[name, default: []].append(entry)
        }
        return byName.keys.sorted().prefix(ForeignEngineSnapshot.locksMax).map { name in
            let queue = byName[name]!.sorted { $0.createRevision < $1.createRevision }
            var lock = LockSnapshot(name: name, kind: .mutex)
            let first = queue[0]
            var holder = LockSnapshot.Holder(session: UInt64(bitPattern: first.lease), token: UInt64(max(0, first.createRevision)),
                                             holdCount: 1, heldMillis: 0, leaseLeftMillis: nil, leaseMillis: nil)
            if let lease = leases[first.lease], lease.ttlSeconds >= 0 {
                let full = UInt64(lease.ttlSeconds) * 1_000
                holder.leaseLeftMillis = full - min(full, elapsedMillis)
                holder.leaseMillis = UInt64(max(1, lease.grantedSeconds)) * 1_000
            }
            holder.owner = "lease \(EtcdReport.hex(first.lease))"
            lock.holders = [holder]
            lock.lastToken = holder.token
            lock.holderTimeline = [holder.token]
            lock.waiters = queue.dropFirst().map { UInt64(bitPattern: $0.lease) }
            lock.waiterOwners = queue.dropFirst().map { "lease \(EtcdReport.hex($0.lease)) rev \($0.createRevision)" }
            return lock
        }
    }

    private func redisLocks(nowNanos now: UInt64) -> [LockSnapshot] {
        struct Copy { var index: Int; var key: RedisReport.LockKey; var atNanos: UInt64 }
        var byName: [String: [Copy]] = [:]
        var waiters: [String: [String]] = [:]
        for (index, endpoint) in endpoints.enumerated() where endpoint.answers {
            guard let report = endpoint.redis else { continue }
            for key in report.locks { byName[key.name, default: []].append(Copy(index: index, key: key, atNanos: endpoint.heardNanos ?? now)) }
            for (name, queue) in report.waiters where waiters[name] == nil { waiters[name] = queue }
        }
        let instances = endpoints.count
        return byName.keys.sorted().prefix(ForeignEngineSnapshot.locksMax).map { name in
            let copies = byName[name]!
            // The owner most instances hold it for (ties: the first instance's).
            var counts: [String: Int] = [:]
            for copy in copies { counts[copy.key.owner, default: 0] += 1 }
            var owner = copies[0].key.owner
            for copy in copies where counts[copy.key.owner]! > counts[owner]! { owner = copy.key.owner }
            let mine = copies.filter { $0.key.owner == owner }
            let left = mine.map { copy -> UInt64 in
                let full = UInt64(copy.key.pttlMillis)
                return full - min(full, (now - min(now, copy.atNanos)) / 1_000_000)
            }.min() ?? 0
            var lock = LockSnapshot(name: name, kind: .mutex)
            var holder = LockSnapshot.Holder(session: 0, token: 0, holdCount: 1, heldMillis: 0, leaseLeftMillis: left,
                                             leaseMillis: UInt64(mine.map(\.key.pttlMillis).max() ?? 0))
            holder.owner = owner
            lock.holders = [holder]
            lock.waiterOwners = waiters[name] ?? []
            if instances > 1 {
                let quorum = instances / 2 + 1
                let agree = counts.count == 1 ? "owners agree" : "owners differ (\(counts.count))"
                lock.placement = "on \(mine.count)/\(instances)" + (mine.count >= quorum ? " (majority)" : " (no majority)") + " · " + agree
            }
            return lock
        }
    }
}
