/// View 1 on an existing engine: each etcd member (leader, raft term and index, applied index, DB
/// size, version, errors) or Redis instance (replication role, memory, keys), then etcd's alarms
/// and leases with their TTL draining, or the Redlock picture across instances.
enum EngineView {
    static let etcdTable = Table(columns: [
        ("#", 2, true), ("endpoint", 22, false), ("member", 16, false), ("name", 6, false), ("role", 9, false),
        ("term", 5, true), ("index", 8, true), ("applied", 8, true), ("db size", 9, true), ("in use", 9, true),
        ("version", 7, false), ("notes", 40, false),
    ])
    static let redisTable = Table(columns: [
        ("#", 2, true), ("endpoint", 22, false), ("role", 8, false), ("used memory", 11, true), ("maxmemory", 10, true),
        ("keys", 8, true), ("version", 8, false), ("notes", 40, false),
    ])
    static let leaseTable = Table(columns: [("lease", 16, false), ("TTL left", 16, false), ("granted", 7, true), ("keys", 40, false)])

    static func draw(_ frame: inout Frame, _ state: ConsoleState, in rect: Rect) {
        guard let foreign = state.snapshot.foreign else { return }
        let isEtcd = foreign.kind == .etcd
        let listHeight = min(rect.height / 2, foreign.endpoints.count + 4)
        let list = Rect(x: rect.x, y: rect.y, width: rect.width, height: listHeight)
        let leader = foreign.leader.map { "leader \($0)" } ?? "no agreed leader"
        frame.box(list, title: isEtcd ? "etcd members · \(leader) · t transfers leadership to the selected member"
                                      : "Redis instances (INFO replication, memory, keyspace)", focused: true)
        let inner = list.inset(1)
        let table = isEtcd ? etcdTable : redisTable
        table.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        let selected = state.selected(in: .cluster)
        for (index, endpoint) in foreign.endpoints.enumerated() where index + 1 < inner.height {
            let y = inner.y + 1 + index
            guard endpoint.answers || endpoint.role != "" else {
                frame.put(TextWidth.pad("\(index + 1)", 2, right: true) + " " + TextWidth.pad(endpoint.url, 22) + " "
                          + "unreachable: \(endpoint.problem ?? "not heard from yet")", x: inner.x + 1, y: y,
                          role: index == selected ? .highlight : .nodeDown, maxX: inner.maxX)
                continue
            }
            let notes = (endpoint.answers ? [] : ["silent \(endpoint.silentMillis)ms: \(endpoint.problem ?? "")"]) + endpoint.notes
            let cells = isEtcd
                ? ["\(index + 1)", endpoint.url, endpoint.member, endpoint.name, (endpoint.isLeader ? "★ " : "") + endpoint.role,
                   "\(endpoint.raftTerm)", "\(endpoint.raftIndex)", "\(endpoint.raftAppliedIndex)", bytes(endpoint.dataBytes),
                   bytes(endpoint.dataInUseBytes), endpoint.version, notes.joined(separator: "; ")]
                : ["\(index + 1)", endpoint.url, endpoint.role, bytes(endpoint.dataBytes),
                   endpoint.dataInUseBytes == 0 ? "none" : bytes(endpoint.dataInUseBytes), endpoint.keys.map(String.init) ?? "-",
                   endpoint.version, notes.joined(separator: "; ")]
            let role: Role = !endpoint.answers ? .nodeDown : endpoint.isLeader ? .nodeLeader : .nodeFollower
            table.drawRow(&frame, cells, roles: [.dim, .text, .text, .text, role], x: inner.x + 1, y: y, maxX: inner.maxX,
                          selected: index == selected)
        }
        let lower = Rect(x: rect.x, y: list.maxY, width: rect.width, height: rect.height - listHeight)
        guard lower.height >= 3 else { return }
        if isEtcd { drawLeases(&frame, foreign, in: lower) } else { drawRedlock(&frame, state.snapshot, in: lower) }
    }

    static func drawLeases(_ frame: inout Frame, _ foreign: ForeignEngineSnapshot, in rect: Rect) {
        let alarms = foreign.alarms.isEmpty ? "no alarms" : "ALARM " + foreign.alarms.joined(separator: ", ")
        let more = foreign.leasesNotShown > 0 ? " (+\(foreign.leasesNotShown) not shown)" : ""
        frame.box(rect, title: "leases (\(foreign.leases.count)\(more)): TTL left counts down between polls · :revoke LEASE · \(alarms)")
        if !foreign.alarms.isEmpty {
            frame.put(" \(alarms) ", x: rect.maxX - 4 - TextWidth.columns(alarms), y: rect.y, role: .alert)
        }
        let inner = rect.inset(1)
        leaseTable.drawHeader(&frame, x: inner.x + 1, y: inner.y, maxX: inner.maxX)
        if foreign.leases.isEmpty {
            frame.put("no leases granted (a lock taken with etcdctl lock or a Locker holds one)", x: inner.x + 1, y: inner.y + 1, role: .dim, maxX: inner.maxX)
        }
        let barX = inner.x + 1 + 17
        for (offset, lease) in foreign.leases.prefix(max(0, inner.height - 1)).enumerated() {
            let y = inner.y + 1 + offset
            leaseTable.drawRow(&frame, [lease.id, "", "\(lease.grantedSeconds)s", lease.keys.isEmpty ? "no keys" : lease.keys.joined(separator: ", ")],
                               roles: [.text, .text, .dim, lease.keys.isEmpty ? .dim : .lockHeld], x: inner.x + 1, y: y, maxX: inner.maxX, selected: false)
            let full = Double(max(1, lease.grantedSeconds * 1_000))
            frame.bar(x: barX, y: y, width: 8, fraction: min(1, Double(lease.ttlLeftMillis) / full))
            frame.put(TextWidth.pad(ConsoleRenderer.time(lease.ttlLeftMillis * 1_000_000), 8, right: true), x: barX + 8, y: y, role: .dim, maxX: inner.maxX)
        }
    }

    /// Locks held on several instances: Redlock's majority and whether the owners agree.
    static func drawRedlock(_ frame: inout Frame, _ snapshot: ClusterSnapshot, in rect: Rect) {
        let instances = snapshot.foreign?.endpoints.count ?? 0
        frame.box(rect, title: instances > 1 ? "Redlock across \(instances) instances: a name is held with a majority (\(instances / 2 + 1)) agreeing on its owner"
                                            : "one instance: Redlock needs 3 or more independent ones (--redis URL,URL,URL)")
        let inner = rect.inset(1)
        let limits = ["limits: no fencing token · assumes bounded clock drift · an instance restarted without its data forgets the key"]
        for (offset, lock) in snapshot.locks.prefix(max(0, inner.height - 1)).enumerated() {
            let owner = lock.holders.first?.owner ?? "-"
            frame.put(TextWidth.pad(lock.name, 24) + " " + TextWidth.pad(lock.placement ?? "held", 42) + " owner " + owner,
                      x: inner.x + 1, y: inner.y + offset,
                      role: lock.placement.map { $0.contains("no majority") || $0.contains("differ") } == true ? .alert : .lockHeld, maxX: inner.maxX)
        }
        if snapshot.locks.isEmpty {
            frame.put("no lock keys right now", x: inner.x + 1, y: inner.y, role: .dim, maxX: inner.maxX)
        }
        frame.put(limits[0], x: inner.x + 1, y: inner.maxY - 1, role: .dim, maxX: inner.maxX)
    }

    /// 20480 → "20.0 KiB".
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1_024 && unit < units.count - 1 {
            value /= 1_024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(String(format1: value)) \(units[unit])"
    }
}
