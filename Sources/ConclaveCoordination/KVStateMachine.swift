import ConclaveCore

/// The replicated KV store: what committed log entries are applied to.
///
/// `apply` is a pure function of (state, entry): every replica that applies the same entries in
/// the same order reaches the same state and gives the same answers. The `digest` folds every
/// answer in, so replicas can be compared cheaply at any index.
public struct KVStateMachine: Equatable, Sendable {
    public struct Session: Equatable, Sendable {
        public var lastSequence: UInt64
        public var lastResult: KVResult
        public var lastIndex: LogIndex
    }

    /// The answer to one applied entry, for the node that waits on it.
    public struct Applied: Equatable, Sendable {
        public var client: UInt64
        public var sequence: UInt64
        public var result: KVResult

        public init(client: UInt64, sequence: UInt64, result: KVResult) {
            self.client = client
            self.sequence = sequence
            self.result = result
        }
    }

    public private(set) var values: [String: String] = [:]
    public private(set) var revision: UInt64 = 0
    public private(set) var appliedIndex: LogIndex = 0
    public private(set) var digest: UInt64 = StableHash.fnvOffsetBasis
    public private(set) var sessions: [UInt64: Session] = [:]
    /// The most client sessions remembered; past it, the least recently used is forgotten (a
    /// client that comes back after that may have a retry applied twice — the stated limit).
    public let sessionsMax: Int

    public init(sessionsMax: Int = 10_000) {
        self.sessionsMax = sessionsMax
    }

    mutating func load(values: [String: String], revision: UInt64, appliedIndex: LogIndex, digest: UInt64,
                       sessions: [UInt64: Session]) {
        self.values = values
        self.revision = revision
        self.appliedIndex = appliedIndex
        self.digest = digest
        self.sessions = sessions
    }

    /// A write decided outside the KV command set (a fenced put the coordination layer accepted).
    /// The caller has already advanced the applied index for its entry.
    mutating func write(key: String, value: String) {
        values[key] = value
        revision += 1
        mix(revision, UInt64(truncatingIfNeeded: value.utf8.count))
    }

    /// A linearizable read served locally (after ReadIndex): the value now, without a log entry.
    public func read(_ key: String) -> String? { values[key] }

    /// Skips indexes that carry no command for this machine (membership changes), keeping the
    /// applied index contiguous.
    public mutating func skip(index: LogIndex) {
        precondition(index == appliedIndex + 1, "skipping \(index) after \(appliedIndex)")
        appliedIndex = index
    }

    /// Applies the entry at `index`. Empty entries (a new leader's) change nothing but the index.
    public mutating func apply(index: LogIndex, data: [UInt8]) -> Applied? {
        precondition(index == appliedIndex + 1, "applying \(index) after \(appliedIndex): entries must be applied in order")
        appliedIndex = index
        guard !data.isEmpty else { return nil }
        guard let request = KVRequest(decoding: data) else {
            mix(0xBAD)
            return nil
        }
        if let session = sessions[request.client], request.sequence <= session.lastSequence {
            let result = request.sequence == session.lastSequence
                ? session.lastResult : .rejected("stale sequence \(request.sequence) < \(session.lastSequence)")
            return Applied(client: request.client, sequence: request.sequence, result: result)
        }
        let result = execute(request.command)
        remember(request, result: result, index: index)
        mix(request.client, request.sequence, UInt64(truncatingIfNeeded: result.hashForDigest))
        return Applied(client: request.client, sequence: request.sequence, result: result)
    }

    private mutating func execute(_ command: KVCommand) -> KVResult {
        switch command {
        case .put(let key, let value):
            values[key] = value
            revision += 1
            return .written(revision: revision)
        case .get(let key):
            return .value(values[key])
        case .delete(let key):
            values[key] = nil
            revision += 1
            return .written(revision: revision)
        case .compareAndSwap(let key, let expected, let value):
            guard values[key] == expected else { return .swapped(false) }
            values[key] = value
            revision += 1
            return .swapped(true)
        }
    }

    private mutating func remember(_ request: KVRequest, result: KVResult, index: LogIndex) {
        sessions[request.client] = Session(lastSequence: request.sequence, lastResult: result, lastIndex: index)
        if sessions.count > sessionsMax,
           let oldest = sessions.min(by: { ($0.value.lastIndex, $0.key) < ($1.value.lastIndex, $1.key) }) {
            sessions[oldest.key] = nil
        }
    }

    private mutating func mix(_ values: UInt64...) {
        for value in values {
            digest = StableHash.fold(digest, value)
        }
    }
}

extension KVResult {
    /// A stable (per-process-independent) hash of the answer, for the replica digest.
    var hashForDigest: UInt64 {
        switch self {
        case .written(let revision): return StableHash.fnv1a64("w\(revision)".utf8)
        case .value(let value): return StableHash.fnv1a64(("v" + (value ?? "\u{0}")).utf8)
        case .swapped(let swapped): return StableHash.fnv1a64((swapped ? "s1" : "s0").utf8)
        case .rejected(let reason): return StableHash.fnv1a64(("r" + reason).utf8)
        }
    }
}
