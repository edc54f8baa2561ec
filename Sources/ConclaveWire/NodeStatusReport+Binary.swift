import ConclaveCore

/// The report's binary form (`CLUSTER.WATCH interval BINARY`): what the console reads. JSON is
/// for people (`redis-cli`), but a 10,000-lock report (200 locks shown) takes ~4 ms to decode as
/// JSON with Foundation — 20 % of a core for a console on 5 nodes at 10 reports a second; this
/// form is a quarter of the size and decodes in a fraction of that (`conclave bench render`).
///
/// Layout: a version byte, then every field in declaration order, little-endian (`ByteWriter`):
/// integers as 8 bytes, strings and lists length-prefixed, optionals behind a presence byte.
extension NodeStatusReport {
    public static let binaryVersion: UInt8 = 2

    public func binaryEncoded() -> [UInt8] {
        var w = ByteWriter(capacity: 4_096 + locks.count * 96)
        w.write(Self.binaryVersion)
        for value in [node, leader, term, vote, commit, applied, lastIndex, snapshotIndex, uptimeMillis, wallMillis, clusterTimeMillis] {
            w.write(value)
        }
        w.write(cluster)
        w.write(role)
        w.list(voters) { $0.write($1) }
        w.list(learners) { $0.write($1) }
        w.write(electionElapsedTicks)
        w.write(electionTimeoutTicks)
        w.write(Int(pid))
        w.list(peers) { w, peer in
            w.write(peer.id)
            w.write(peer.address)
            w.flag(peer.connected)
            w.optional(peer.match) { $0.write($1) }
            w.optional(peer.next) { $0.write($1) }
            w.optional(peer.inFlight) { $0.write($1) }
            w.optional(peer.recentActive) { $0.flag($1) }
            w.write(peer.messagesSent)
            w.write(peer.messagesReceived)
            w.write(peer.faultDrops)
            w.flag(peer.cut)
        }
        w.write(faults.pausedForMillis)
        w.write(Int(faults.skewMillis))
        w.write(faults.dropPercent)
        w.write(faults.delayMillis)
        w.list(faults.cutFrom) { $0.write($1) }
        for count in [sessions, locksTotal, locksHeld, lockWaiters] { w.write(count) }
        w.list(locks) { w, lock in
            w.write(lock.name)
            w.write(lock.kind)
            w.list(lock.holders) { w, holder in
                w.write(holder.session)
                w.write(holder.token)
                w.write(holder.holdCount)
                w.write(holder.heldMillis)
                w.optional(holder.leaseLeftMillis) { $0.write($1) }
                w.optional(holder.leaseMillis) { $0.write($1) }
            }
            w.list(lock.waiters) { $0.write($1) }
            w.write(lock.lastToken)
            w.write(lock.acquires)
            w.write(lock.refusals)
            w.optional(lock.waitP50Millis) { $0.write($1) }
            w.optional(lock.waitP99Millis) { $0.write($1) }
        }
        w.write(keysTotal)
        w.list(keys.keys.sorted()) { w, key in
            w.write(key)
            w.write(keys[key]!)
        }
        w.write(configRevision)
        for entries in [config, configEvents] {
            w.list(entries) { w, entry in
                w.write(entry.key)
                w.write(entry.revision)
                w.write(entry.value)
                w.write(entry.versions)
            }
        }
        for count in [tasks.pending, tasks.fired, tasks.late, tasks.reclaims] { w.write(count) }
        w.list(tasks.owners) { w, owners in w.list(owners) { $0.write($1) } }
        w.list(tasks.latenessBuckets) { $0.write($1) }
        w.list(tasks.latenessLabels) { $0.write($1) }
        w.list(tasks.firedByNode.keys.sorted()) { w, node in
            w.write(node)
            w.write(tasks.firedByNode[node]!)
        }
        w.write(tasks.heapArity)
        w.list(tasks.heapLevels) { w, level in w.list(level) { $0.write($1) } }
        w.write(tasks.heapCount)
        w.optional(ids.worker) { $0.write($1) }
        w.write(ids.issued)
        w.optional(ids.lastID) { $0.write($1) }
        w.write(ids.leases)
        w.write(throttlesTotal)
        w.list(throttles) { w, throttle in
            w.write(throttle.key)
            w.write(throttle.allowed)
            w.write(throttle.refused)
        }
        w.list(breakers) { w, breaker in
            w.write(breaker.name)
            w.write(breaker.state)
            w.optional(breaker.failureRatePercent) { $0.write($1.bitPattern) }
            w.write(breaker.thresholdPercent.bitPattern)
            w.write(breaker.calls)
            w.write(breaker.notPermitted)
        }
        w.optional(disk) { w, disk in
            for value in [disk.syncs, disk.fsyncP50Micros, disk.fsyncP99Micros] { w.write(value) }
            w.flag(disk.synced)
        }
        return w.bytes
    }

    /// Decodes the binary form; a truncated or malformed report is an error naming what was read
    /// last, never a trap.
    public init(binary bytes: [UInt8]) throws(ServerInputError) {
        do {
            self = try Self.decodeBinary(bytes)
        } catch let error as ServerInputError {
            throw error
        } catch {
            throw ServerInputError("status report: \(error)")
        }
    }

    private static func decodeBinary(_ bytes: [UInt8]) throws -> NodeStatusReport {
        var r = Reader(ByteReader(bytes))
        let version = try r.byte("version")
        guard version == Self.binaryVersion else {
            throw ServerInputError("status report version \(version): this build reads version \(Self.binaryVersion)")
        }
        var numbers: [UInt64] = []
        for _ in 0..<11 { numbers.append(try r.u64("header")) }
        let cluster = try r.string("cluster")
        let role = try r.string("role")
        let voters = try r.list("voters") { try $0.u64("voter") }
        let learners = try r.list("learners") { try $0.u64("learner") }
        var report = NodeStatusReport(node: numbers[0], cluster: cluster, role: role, leader: numbers[1], term: numbers[2], vote: numbers[3],
                  commit: numbers[4], applied: numbers[5], lastIndex: numbers[6], snapshotIndex: numbers[7], voters: voters,
                  learners: learners, electionElapsedTicks: try r.int("election elapsed"),
                  electionTimeoutTicks: try r.int("election timeout"), uptimeMillis: numbers[8], wallMillis: numbers[9],
                  clusterTimeMillis: numbers[10])
        report.pid = Int32(truncatingIfNeeded: try r.int("pid"))
        report.peers = try r.list("peers") { r in
            var peer = Peer(id: try r.u64("peer"), address: try r.optionalString("peer address"), connected: try r.flag("connected"),
                            messagesSent: 0, messagesReceived: 0, faultDrops: 0, cut: false)
            peer.match = try r.optional("match") { try $0.u64("match") }
            peer.next = try r.optional("next") { try $0.u64("next") }
            peer.inFlight = try r.optional("in flight") { try $0.int("in flight") }
            peer.recentActive = try r.optional("recent active") { try $0.flag("recent active") }
            peer.messagesSent = try r.u64("messages sent")
            peer.messagesReceived = try r.u64("messages received")
            peer.faultDrops = try r.u64("fault drops")
            peer.cut = try r.flag("cut")
            return peer
        }
        report.faults.pausedForMillis = try r.u64("paused")
        report.faults.skewMillis = Int64(try r.int("skew"))
        report.faults.dropPercent = try r.int("drop")
        report.faults.delayMillis = try r.u64("delay")
        report.faults.cutFrom = try r.list("cut from") { try $0.u64("cut from") }
        report.sessions = try r.int("sessions")
        report.locksTotal = try r.int("locks total")
        report.locksHeld = try r.int("locks held")
        report.lockWaiters = try r.int("lock waiters")
        report.locks = try r.list("locks") { r in
            let name = try r.string("lock name")
            let kind = try r.string("lock kind")
            let holders = try r.list("holders") { r in
                Lock.Holder(session: try r.u64("session"), token: try r.u64("token"), holdCount: try r.int("hold count"),
                            heldMillis: try r.u64("held"), leaseLeftMillis: try r.optional("lease left") { try $0.u64("lease left") },
                            leaseMillis: try r.optional("lease") { try $0.u64("lease") })
            }
            return Lock(name: name, kind: kind, holders: holders, waiters: try r.list("waiters") { try $0.u64("waiter") },
                        lastToken: try r.u64("last token"), acquires: try r.int("acquires"), refusals: try r.int("refusals"),
                        waitP50Millis: try r.optional("wait p50") { try $0.u64("wait p50") },
                        waitP99Millis: try r.optional("wait p99") { try $0.u64("wait p99") })
        }
        report.keysTotal = try r.int("keys total")
        for (key, value) in try r.list("keys", { try $0.pair() }) { report.keys[key] = value }
        report.configRevision = try r.u64("config revision")
        let entry: (inout Reader) throws -> ConfigEntry = { r in
            ConfigEntry(key: try r.string("config key"), revision: try r.u64("revision"), value: try r.optionalString("config value"),
                        versions: try r.int("versions"))
        }
        report.config = try r.list("config", entry)
        report.configEvents = try r.list("config events", entry)
        report.tasks.pending = try r.int("tasks pending")
        report.tasks.fired = try r.int("tasks fired")
        report.tasks.late = try r.int("tasks late")
        report.tasks.reclaims = try r.int("tasks reclaims")
        report.tasks.owners = try r.list("owners") { r in try r.list("owner") { try $0.u64("owner") } }
        report.tasks.latenessBuckets = try r.list("lateness") { try $0.int("lateness") }
        report.tasks.latenessLabels = try r.list("lateness labels") { try $0.string("lateness label") }
        for (node, fired) in try r.list("fired by node", { r in (try r.u64("node"), try r.int("fired")) }) {
            report.tasks.firedByNode[node] = fired
        }
        report.tasks.heapArity = try r.int("heap arity")
        report.tasks.heapLevels = try r.list("heap levels") { r in try r.list("heap level") { try $0.u64("deadline") } }
        report.tasks.heapCount = try r.int("heap count")
        report.ids.worker = try r.optional("worker") { try $0.u64("worker") }
        report.ids.issued = try r.u64("issued")
        report.ids.lastID = try r.optional("last ID") { try $0.u64("last ID") }
        report.ids.leases = try r.int("leases")
        report.throttlesTotal = try r.int("throttles total")
        report.throttles = try r.list("throttles") { r in
            Throttle(key: try r.string("throttle"), allowed: try r.int("allowed"), refused: try r.int("refused"))
        }
        report.breakers = try r.list("breakers") { r in
            Breaker(name: try r.string("breaker"), state: try r.string("breaker state"),
                    failureRatePercent: try r.optional("failure rate") { Double(bitPattern: try $0.u64("failure rate")) },
                    thresholdPercent: Double(bitPattern: try r.u64("threshold")), calls: try r.int("calls"),
                    notPermitted: try r.u64("not permitted"))
        }
        report.disk = try r.optional("disk") { r in
            Disk(syncs: try r.u64("syncs"), fsyncP50Micros: try r.u64("fsync p50"), fsyncP99Micros: try r.u64("fsync p99"),
                 synced: try r.flag("synced"))
        }
        guard r.reader.isAtEnd else { throw ServerInputError("status report: \(r.reader.remaining) bytes after the last field") }
        return report
    }

    /// `ByteReader` with errors that name the field.
    private struct Reader {
        var reader: ByteReader
        init(_ reader: ByteReader) { self.reader = reader }

        static let listMax = 1 << 20

        mutating func byte(_ field: String) throws -> UInt8 {
            guard let value = reader.readByte() else { throw Self.truncated(field) }
            return value
        }
        mutating func u64(_ field: String) throws -> UInt64 {
            guard let value = reader.readUInt64() else { throw Self.truncated(field) }
            return value
        }
        mutating func int(_ field: String) throws -> Int {
            guard let value = reader.readInt() else { throw Self.truncated(field) }
            return value
        }
        mutating func flag(_ field: String) throws -> Bool {
            switch try byte(field) {
            case 0: return false
            case 1: return true
            case let other: throw ServerInputError("status report: \(field) is \(other), not 0 or 1")
            }
        }
        mutating func string(_ field: String) throws -> String {
            guard let value = reader.readString() else { throw Self.truncated(field) }
            return value
        }
        mutating func optionalString(_ field: String) throws -> String? {
            guard let value = reader.readOptionalString() else { throw Self.truncated(field) }
            return value
        }
        mutating func pair() throws -> (String, String) { (try string("key"), try string("value")) }
        mutating func optional<Value>(_ field: String, _ read: (inout Reader) throws -> Value) throws -> Value? {
            try flag(field) ? try read(&self) : nil
        }
        mutating func list<Value>(_ field: String, _ read: (inout Reader) throws -> Value) throws -> [Value] {
            let count = try u64(field)
            // Every element takes at least one byte: a count past what is left is malformed.
            guard count <= UInt64(min(Self.listMax, reader.remaining)) else {
                throw ServerInputError("status report: \(field) claims \(count) elements, more than the bytes left")
            }
            var values: [Value] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<count { values.append(try read(&self)) }
            return values
        }

        static func truncated(_ field: String) -> ServerInputError { ServerInputError("status report truncated at \(field)") }
    }
}

extension ByteWriter {
    mutating func flag(_ value: Bool) { write(UInt8(value ? 1 : 0)) }

    mutating func optional<Value>(_ value: Value?, _ write: (inout ByteWriter, Value) -> Void) {
        flag(value != nil)
        if let value { write(&self, value) }
    }

    mutating func list<Value>(_ values: [Value], _ write: (inout ByteWriter, Value) -> Void) {
        self.write(UInt64(values.count))
        for value in values { write(&self, value) }
    }
}
