import ConclaveCore

/// Versioned configuration: every write gets the next cluster-wide revision; each key keeps its
/// recent versions (for history and rollback); a bounded event log lets watchers resume from any
/// revision still held, and tells those who ask for older ones to re-list.
public struct ConfigStore: Equatable, Sendable {
    /// One version of one key. A nil value is a deletion.
    public struct Version: Equatable, Sendable {
        public var revision: UInt64
        public var value: String?

        public init(revision: UInt64, value: String?) {
            self.revision = revision
            self.value = value
        }
    }

    /// A change, as watchers see it.
    public struct Event: Equatable, Sendable {
        public var revision: UInt64
        public var key: String
        public var value: String?
    }

    /// Versions kept per key (older ones are dropped from its history).
    public static let versionsPerKeyMax = 32
    /// Events kept for watchers; a watch from before the oldest one is answered "compacted".
    public static let eventsMax = 10_000
    /// At most this many events in one watch answer (the watcher asks again from the last one).
    public static let eventsPerWatchMax = 1_000

    public internal(set) var revision: UInt64 = 0
    public internal(set) var history: [String: [Version]] = [:]
    /// The events kept for watchers, oldest first: the newest `eventsMax`.
    public internal(set) var events: ArraySlice<Event> {
        get { eventLog[eventsStart...] }
        set {
            eventLog = Array(newValue)
            eventsStart = 0
        }
    }
    /// The events with a moving head: dropping the oldest moves `eventsStart`, and the array is
    /// compacted once a quarter of `eventsMax` lies dead before it — a write costs O(1) amortized,
    /// not a shift of 10,000 events.
    private var eventLog: [Event] = []
    private var eventsStart = 0
    /// The config's share of the replica digest: each key's kept versions (the events follow
    /// from the writes), and the revision.
    private(set) var keysHash = StateHashSum()
    var stateHash: StateHashSum {
        var share = keysHash
        share.replace(nil, with: StableHash.mix(revision))
        return share
    }

    public init() {}

    /// Equal stores hold the same keys, versions and events, wherever their event log's head is.
    public static func == (left: ConfigStore, right: ConfigStore) -> Bool {
        left.revision == right.revision && left.history == right.history && left.events == right.events
            && left.keysHash == right.keysHash
    }

    /// The current value of `key` and the revision that wrote it (nil: absent or deleted).
    public func current(_ key: String) -> Version? {
        guard let last = history[key]?.last, last.value != nil else { return nil }
        return last
    }

    /// Writes `value` (nil: deletes) and returns the new revision.
    mutating func write(_ key: String, value: String?) throws(CoordinationError) -> UInt64 {
        try CoordinationLimits.validate(name: key)
        if value == nil && current(key) == nil { throw .invalidRequest("config key '\(key)' does not exist") }
        revision += 1
        var versions = history[key] ?? []
        versions.append(Version(revision: revision, value: value))
        if versions.count > Self.versionsPerKeyMax { versions.removeFirst(versions.count - Self.versionsPerKeyMax) }
        keysHash.replace(history[key].map { Self.stateHash(key, $0) }, with: Self.stateHash(key, versions))
        history[key] = versions
        eventLog.append(Event(revision: revision, key: key, value: value))
        if eventLog.count - eventsStart > Self.eventsMax {
            eventsStart = eventLog.count - Self.eventsMax
            if eventsStart >= Self.eventsMax / 4 {
                eventLog.removeFirst(eventsStart)
                eventsStart = 0
            }
        }
        return revision
    }

    /// Writes again the value `key` had at `revision` (as a new revision).
    mutating func rollback(_ key: String, to target: UInt64) throws(CoordinationError) -> UInt64 {
        try CoordinationLimits.validate(name: key)
        guard let version = history[key]?.last(where: { $0.revision <= target }) else {
            let oldest = history[key]?.first?.revision
            throw .invalidRequest(oldest.map { "config key '\(key)' has no version at or before revision \(target) (oldest kept: \($0))" }
                                  ?? "config key '\(key)' does not exist")
        }
        return try write(key, value: version.value)
    }

    /// Events after `revision` for keys starting with `prefix`, oldest first, at most
    /// `eventsPerWatchMax`; or `.compacted` when events after `revision` were already dropped.
    public func watch(prefix: String, after revision: UInt64) -> WatchAnswer {
        if let oldest = events.first?.revision, revision < oldest - 1 {
            return .compacted(relistFrom: self.revision)
        }
        let start = firstEvent(after: revision)
        let matching = events[start...].lazy.filter { $0.key.hasPrefix(prefix) }.prefix(Self.eventsPerWatchMax)
        return .events(Array(matching), upTo: self.revision)
    }

    /// The position of the first event past `revision` (events are in revision order): a binary
    /// search, so a watcher that keeps up costs a lookup, not a walk over every event kept.
    func firstEvent(after revision: UInt64) -> Int {
        let events = self.events
        var low = events.startIndex
        var high = events.endIndex
        while low < high {
            let middle = (low + high) / 2
            if events[middle].revision > revision { high = middle } else { low = middle + 1 }
        }
        return low
    }

    public enum WatchAnswer: Equatable, Sendable {
        /// The events, and the revision the watcher has now seen everything up to (when fewer
        /// than the maximum came back).
        case events([Event], upTo: UInt64)
        /// Events after the asked revision are gone: list the keys again, then watch from this revision.
        case compacted(relistFrom: UInt64)
    }

    static func stateHash(_ key: String, _ versions: [Version]) -> UInt64 {
        var hasher = StateHasher(6)
        hasher.combine(key)
        hasher.combine(versions.count)
        for version in versions {
            hasher.combine(version.revision)
            hasher.combine(version.value)
        }
        return hasher.finalized
    }

    /// `stateHash` rebuilt from the kept versions (what it must equal); also sets it after a restore.
    func recomputedStateHash() -> StateHashSum {
        var copy = self
        copy.rebuildStateHash()
        return copy.stateHash
    }

    mutating func rebuildStateHash() {
        keysHash = StateHashSum()
        for (key, versions) in history { keysHash.replace(nil, with: Self.stateHash(key, versions)) }
    }
}
