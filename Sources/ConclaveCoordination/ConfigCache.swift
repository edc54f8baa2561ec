/// A client's copy of the config keys it has read: while the cluster answers, reads are fresh and
/// refresh the copy; when it does not, the last known value is served, marked stale, with its age —
/// never silence, and never a stale value passed off as fresh.
public struct ConfigCache: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var version: ConfigStore.Version?
        public var confirmedAtNanos: UInt64
    }

    /// What a read returns: the value (nil: absent), the revision that wrote it, whether it came
    /// from the cache because the cluster could not be reached, and how old the confirmation is.
    public struct Read: Equatable, Sendable {
        public var value: String?
        public var revision: UInt64?
        public var stale: Bool
        public var ageNanos: UInt64
    }

    /// Keys kept (least recently confirmed dropped first).
    public static let keysMax = 10_000

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// The cluster just answered `version` for `key`.
    public mutating func confirm(_ key: String, version: ConfigStore.Version?, atNanos now: UInt64) -> Read {
        entries[key] = Entry(version: version, confirmedAtNanos: now)
        if entries.count > Self.keysMax, let oldest = entries.min(by: { $0.value.confirmedAtNanos < $1.value.confirmedAtNanos }) {
            entries[oldest.key] = nil
        }
        return Read(value: version?.value, revision: version?.revision, stale: false, ageNanos: 0)
    }

    /// The cluster could not be reached: the last known value of `key`, marked stale (nil if never read).
    public func stale(_ key: String, atNanos now: UInt64) -> Read? {
        guard let entry = entries[key] else { return nil }
        return Read(value: entry.version?.value, revision: entry.version?.revision, stale: true,
                    ageNanos: now - entry.confirmedAtNanos)
    }
}
