/// Turns what an existing engine's endpoints answered (etcd members' status, one cluster-wide
/// round, watch events; or each Redis instance's report) with their arrival times into a
/// `ClusterSnapshot`, as `RemoteSnapshotBuilder` does for Conclave's own nodes: members or
/// instances as nodes, locks with holder and waiters, leases whose TTL counts down between polls,
/// a watch feeding the event log and the KV view. Pure and deterministic: a recorded stream gives
/// the same frames every time. What the engine does not have is left absent.
public struct EngineSnapshotBuilder {
    struct Endpoint {
        var status: EtcdReport.Status?
        var redis: RedisReport?
        var heardNanos: UInt64?
        var problem: String?
        var answers = false
    }

    public let kind: ForeignEngineSnapshot.Kind
    public let urls: [String]
    /// etcd: the prefix lock keys are read under (nil: every mutex-shaped key); Redis: the SCAN pattern.
    public let lockScope: String?
    /// etcd: the prefix whose changes stream into the log and the KV view.
    public let watchPrefix: String?
    private(set) var endpoints: [Endpoint]
    private(set) var round: EtcdReport.ClusterRound?
    private(set) var roundNanos: UInt64 = 0
    private var roundProblem: String?
    private var watchProblem: String?
    private var watched: [ConfigEvent] = []
    private var events: [ClusterEvent] = []
    private var eventsRecorded: UInt64 = 0
    private var firstNanos: UInt64?
    private var lastLeader: UInt64?
    private var lastHolders: [String: String] = [:]

    static let watchedMax = 200

    public init(kind: ForeignEngineSnapshot.Kind, urls: [String], lockScope: String?, watchPrefix: String?) {
        self.kind = kind
        self.urls = urls
        self.lockScope = lockScope
        self.watchPrefix = kind == .etcd ? watchPrefix : nil
        endpoints = Array(repeating: Endpoint(), count: urls.count)
    }

    // MARK: - Input

    public mutating func take(_ status: EtcdReport.Status, from index: Int, atNanos now: UInt64) {
        heard(index, atNanos: now)
        endpoints[index].status = status
        noteLeader(atNanos: now)
    }

    public mutating func take(_ round: EtcdReport.ClusterRound, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        if roundProblem != nil { record(.info, "cluster-wide reads answer again", atNanos: now) }
        for alarm in round.alarms where !(self.round?.alarms.contains(alarm) ?? false) { record(.fault, "alarm \(alarm)", atNanos: now) }
        self.round = round
        roundNanos = now
        roundProblem = nil
        noteHolders(atNanos: now)
    }

    public mutating func take(_ report: RedisReport, from index: Int, atNanos now: UInt64) {
        heard(index, atNanos: now)
        endpoints[index].redis = report
        noteHolders(atNanos: now)
    }

    /// Watch events, each into the log and the KV view's stream.
    public mutating func take(_ watchEvents: [EtcdReport.WatchEvent], atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        watchProblem = nil
        for event in watchEvents {
            watched.append(ConfigEvent(revision: UInt64(max(0, event.modRevision)), key: event.key, value: event.value))
            record(.info, "watch rev \(event.modRevision): " + (event.value.map { "put \(event.key) = \($0.prefix(60))" } ?? "delete \(event.key)"),
                   atNanos: now)
        }
        if watched.count > Self.watchedMax { watched.removeFirst(watched.count - Self.watchedMax) }
    }

    /// An endpoint failed: unreachable, refused, or answered what the console cannot read.
    public mutating func lost(_ index: Int, problem: String, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        guard endpoints[index].problem != problem else { return }
        record(.fault, "\(urls[index]): \(problem)", atNanos: now)
        endpoints[index].answers = false
        endpoints[index].problem = problem
    }

    /// The cluster-wide poll (members, alarms, locks, leases) failed on every endpoint.
    public mutating func roundFailed(_ problem: String, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        guard roundProblem != problem else { return }
        record(.fault, problem, atNanos: now)
        roundProblem = problem
    }

    public mutating func watchFailed(_ problem: String, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        guard watchProblem != problem else { return }
        record(.fault, "watch: \(problem)", atNanos: now)
        watchProblem = problem
    }

    public mutating func note(_ text: String, isError: Bool, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        record(isError ? .info : .control, text, atNanos: now)
    }

    private mutating func heard(_ index: Int, atNanos now: UInt64) {
        if firstNanos == nil { firstNanos = now }
        if !endpoints[index].answers { record(.info, "\(urls[index]) answers", atNanos: now) }
        endpoints[index].answers = true
        endpoints[index].problem = nil
        endpoints[index].heardNanos = now
    }

    private mutating func record(_ kind: ClusterEvent.Kind, _ text: String, atNanos now: UInt64) {
        eventsRecorded += 1
        events.append(ClusterEvent(nanos: now - min(now, firstNanos ?? now), kind: kind, text: text, sequence: eventsRecorded))
        if events.count > ClusterSnapshot.eventsMax { events.removeFirst(events.count - ClusterSnapshot.eventsMax) }
    }

    private mutating func noteLeader(atNanos now: UInt64) {
        guard let leader = agreedLeader, leader != lastLeader else { return }
        lastLeader = leader
        let term = endpoints.compactMap(\.status).map(\.raftTerm).max() ?? 0
        record(.election, "member \(memberName(leader)) leads (raft term \(term))", atNanos: now)
    }

    private mutating func noteHolders(atNanos now: UInt64) {
        var holders: [String: String] = [:]
        for lock in locks(nowNanos: now) { holders[lock.name] = lock.holders.first?.owner ?? "" }
        for name in Set(holders.keys).union(lastHolders.keys).sorted() where holders[name] != lastHolders[name] {
            let holder = holders[name] ?? ""
            record(.lock, holder.isEmpty ? "\(name): free" : "\(name): held by \(holder)", atNanos: now)
        }
        lastHolders = holders
    }

    // MARK: - What the answers agree on

    /// The leader every answering member names, if they name one and agree.
    var agreedLeader: UInt64? {
        let named = Set(endpoints.filter(\.answers).compactMap(\.status).map(\.leader))
        guard named.count == 1, let leader = named.first, leader != 0 else { return nil }
        return leader
    }

    /// Where a re-opened watch resumes: after the newest event seen (nil: from now).
    var watchResumeRevision: UInt64? { watched.last.map { $0.revision + 1 } }

    /// Index of the endpoint whose member is `id`.
    func index(ofMember id: UInt64) -> Int? { endpoints.firstIndex { $0.status?.memberID == id } }

    func memberName(_ id: UInt64) -> String {
        let name = round?.members.first { $0.id == id }?.name ?? ""
        return name.isEmpty ? EtcdReport.hex(id) : "\(name) (\(EtcdReport.hex(id)))"
    }

    // MARK: - The snapshot

    public func snapshot(nowNanos now: UInt64) -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.mode = kind.rawValue
        snapshot.engine = kind == .etcd ? .etcd : .redis
        let noun = kind == .etcd ? "member" : "instance"
        snapshot.source = "\(urls.count) \(noun)\(urls.count == 1 ? "" : "s") at \(urls.first ?? "")\(urls.count > 1 ? "…" : "")"
        snapshot.nowNanos = now - min(now, firstNanos ?? now)
        snapshot.nodes = endpoints.indices.map { node($0, nowNanos: now) }
        snapshot.events = events
        snapshot.locks = locks(nowNanos: now)
        snapshot.configEvents = watched
        snapshot.config = watchedKeys()
        var foreign = ForeignEngineSnapshot(kind: kind)
        foreign.endpoints = endpoints.indices.map { endpoint($0, nowNanos: now) }
        if kind == .etcd {
            fillEtcd(&foreign, nowNanos: now)
        } else {
            foreign.lockScope = "string keys with a PTTL matching '\(lockScope ?? "*")' (owner = the value), waiters from NAME:waiters"
            let failed = endpoints.indices.filter { !endpoints[$0].answers }.map { urls[$0] }
            let truncated = endpoints.indices.filter { endpoints[$0].redis?.truncated == true }.map { urls[$0] }
            foreign.lockProblem = !failed.isEmpty ? "not read from \(failed.joined(separator: ", ")) (unreachable)"
                : !truncated.isEmpty ? "only the first \(RedisReport.scannedMax) matching keys scanned on \(truncated.joined(separator: ", "))" : nil
        }
        snapshot.foreign = foreign
        return snapshot
    }

    /// Each key the watch has seen: its newest revision and value (nil once deleted) and how many
    /// changes the kept stream holds.
    private func watchedKeys() -> [ConfigEntry] {
        var latest: [String: ConfigEntry] = [:]
        for event in watched {
            let versions = (latest[event.key]?.versions ?? 0) + 1
            latest[event.key] = ConfigEntry(key: event.key, revision: event.revision, value: event.value, versions: versions)
        }
        return latest.keys.sorted().map { latest[$0]! }
    }

    private func fillEtcd(_ foreign: inout ForeignEngineSnapshot, nowNanos now: UInt64) {
        foreign.leader = agreedLeader.map { EtcdReport.hex($0) }
        foreign.watchPrefix = watchPrefix
        foreign.watchProblem = watchProblem
        foreign.lockScope = lockScope.map { "etcd mutex keys (NAME/<lease hex>) under '\($0)'" }
            ?? "every etcd mutex key (NAME/<lease hex> on that lease)"
        guard let round else {
            foreign.lockProblem = roundProblem ?? "not read yet"
            return
        }
        foreign.alarms = round.alarms
        let elapsedMillis = (now - min(now, roundNanos)) / 1_000_000
        foreign.leases = round.leases.filter { $0.ttlSeconds >= 0 }.map { lease in
            ForeignEngineSnapshot.Lease(id: EtcdReport.hex(lease.id),
                                        ttlLeftMillis: UInt64(lease.ttlSeconds) * 1_000 - min(UInt64(lease.ttlSeconds) * 1_000, elapsedMillis),
                                        grantedSeconds: UInt64(max(0, lease.grantedSeconds)), keys: lease.keys)
        }
        foreign.leasesNotShown = max(0, round.leaseCount - round.leases.count)
        foreign.lockProblem = roundProblem.map { "as last read; now: \($0)" }
            ?? (round.keysTruncated ? "only the first keys were read (the range hit its limit): narrow it with --lock-prefix" : nil)
    }

    private func node(_ index: Int, nowNanos now: UInt64) -> NodeSnapshot {
        let state = endpoints[index]
        var node = NodeSnapshot(id: UInt64(index + 1), role: .none, health: state.answers ? .up : .unreachable)
        node.silentMillis = (now - min(now, state.heardNanos ?? firstNanos ?? now)) / 1_000_000
        if let status = state.status {
            node.role = status.leader == status.memberID ? .leader : .follower
            node.term = status.raftTerm
            node.commit = status.raftIndex
            node.lastIndex = status.raftIndex
            node.applied = status.raftAppliedIndex
        } else if let redis = state.redis {
            node.role = redis.info["role"] == "master" ? .leader : .follower
        }
        return node
    }

    private func endpoint(_ index: Int, nowNanos now: UInt64) -> ForeignEngineSnapshot.Endpoint {
        let state = endpoints[index]
        var endpoint = ForeignEngineSnapshot.Endpoint(url: urls[index], answers: state.answers)
        endpoint.problem = state.problem
        endpoint.silentMillis = (now - min(now, state.heardNanos ?? firstNanos ?? now)) / 1_000_000
        if let status = state.status {
            endpoint.member = EtcdReport.hex(status.memberID)
            endpoint.name = round?.members.first { $0.id == status.memberID }?.name ?? ""
            endpoint.isLeader = status.leader == status.memberID
            endpoint.role = endpoint.isLeader ? "leader" : "follower"
            endpoint.raftTerm = status.raftTerm
            endpoint.raftIndex = status.raftIndex
            endpoint.raftAppliedIndex = status.raftAppliedIndex
            endpoint.dataBytes = status.dbSize
            endpoint.dataInUseBytes = status.dbSizeInUse
            endpoint.version = status.version
            endpoint.notes = status.errors
        } else if let redis = state.redis {
            let info = redis.info
            endpoint.role = info["role"] ?? "?"
            endpoint.isLeader = endpoint.role == "master"
            endpoint.dataBytes = UInt64(info["used_memory"] ?? "") ?? 0
            endpoint.dataInUseBytes = UInt64(info["maxmemory"] ?? "") ?? 0
            endpoint.version = info["redis_version"] ?? "?"
            endpoint.keys = info["db0"].flatMap { Int($0.split(separator: ",").first?.dropFirst("keys=".count) ?? "") } ?? 0
            if endpoint.role == "master" {
                endpoint.notes = ["replicas \(info["connected_slaves"] ?? "0")"]
            } else if let host = info["master_host"] {
                endpoint.notes = ["master \(host):\(info["master_port"] ?? "?") link \(info["master_link_status"] ?? "?")"]
            }
        }
        return endpoint
    }
}
