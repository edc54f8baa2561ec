/// The console's own event log: every event the snapshots brought (by sequence number, each
/// once), the newest `capacity` kept, with an inverted index of their text's trigrams so that `/`
/// searches the whole retained log without reading every line (the way code search finds a
/// substring: the lines holding all of the query's trigrams, then checked).
///
/// A filter of fewer than three characters, or a regex (`~…`), is answered by a scan: neither has
/// trigrams to look up. Snapshots from any source feed it (`absorb`), so the log is as long as the
/// console has watched, not as long as one snapshot carries.
public struct EventLog: Equatable, Sendable {
    public static let capacityDefault = 10_000

    public let capacity: Int
    private var events: [ClusterEvent] = []
    /// Position in `events` of the oldest kept (the ones before it are dropped in batches).
    private var head = 0
    /// The sequence number of `events[head]`: positions and numbers move together.
    private var headSequence: UInt64 = 0
    private var lastSequence: UInt64?
    /// Trigram → sequence numbers of the events whose lowercased text holds it, ascending.
    private var postings: [String: [UInt64]] = [:]
    /// The matches of the last filter that needs a scan, kept up to date as events arrive
    /// (`memoize`), so a regex or a short filter costs one test per new event, not per frame.
    private var memo: Memo?

    private struct Memo: Equatable {
        var filter: String
        /// The sequence number after the newest event scanned.
        var through: UInt64
        var matches: [UInt64]
    }

    public init(capacity: Int = capacityDefault) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { events.count - head }

    /// Every event kept, oldest first.
    public var all: ArraySlice<ClusterEvent> { events[head...] }

    /// Takes in the events not seen yet (a snapshot carries the newest few); drops the oldest past
    /// `capacity`, with their postings. Returns the events taken in.
    @discardableResult
    public mutating func absorb(_ incoming: [ClusterEvent]) -> [ClusterEvent] {
        var added: [ClusterEvent] = []
        for event in incoming where lastSequence.map({ event.sequence > $0 }) ?? true {
            if count == 0 { headSequence = event.sequence }
            // Sequence numbers of kept events are contiguous from `headSequence` (a gap in the
            // source's numbering would break lookups by position): renumber locally.
            var kept = event
            kept.sequence = headSequence + UInt64(count)
            events.append(kept)
            added.append(kept)
            lastSequence = event.sequence
            for trigram in Self.trigrams(of: kept.text) { postings[trigram, default: []].append(kept.sequence) }
        }
        while count > capacity { dropOldest() }
        if head > 1_024 && head * 2 > events.count {
            events.removeFirst(head)
            head = 0
        }
        return added
    }

    private mutating func dropOldest() {
        let oldest = events[head]
        for trigram in Self.trigrams(of: oldest.text) {
            guard var list = postings[trigram] else { continue }
            if list.first == oldest.sequence { list.removeFirst() }
            postings[trigram] = list.isEmpty ? nil : list
        }
        head += 1
        headSequence += 1
    }

    /// The kept events matching `filter` (ConsoleFilter's rules), oldest first. No filter: the
    /// log itself, not a copy (the view draws a page of it every frame).
    public func matching(_ filter: String) -> ArraySlice<ClusterEvent> {
        guard !filter.isEmpty else { return all }
        let query = Self.trigrams(of: filter)
        guard !filter.hasPrefix("~"), !query.isEmpty else {
            if let memo, memo.filter == filter, memo.through == endSequence {
                return ArraySlice(memo.matches.lazy.filter { $0 >= headSequence }.map { event(at: $0) })
            }
            return ArraySlice(all.filter { ConsoleFilter.matches(filter, $0.text) })
        }
        var lists = query.map { postings[$0] ?? [] }
        lists.sort { $0.count < $1.count }
        var candidates = lists[0]
        for list in lists.dropFirst() where !candidates.isEmpty {
            candidates = Self.intersect(candidates, list)
        }
        return ArraySlice(candidates.compactMap { sequence in
            let event = event(at: sequence)
            return ConsoleFilter.matches(filter, event.text) ? event : nil
        })
    }

    /// Brings the scan filter's matches up to date: only the events that arrived since the last
    /// call are tested (all of them when the filter changed). A filter the index answers needs
    /// nothing; the console calls this after every update.
    public mutating func memoize(_ filter: String) {
        guard !filter.isEmpty, filter.hasPrefix("~") || Self.trigrams(of: filter).isEmpty else {
            memo = nil
            return
        }
        var current = memo?.filter == filter ? memo! : Memo(filter: filter, through: headSequence, matches: [])
        if let stale = current.matches.firstIndex(where: { $0 >= headSequence }) {
            current.matches.removeFirst(stale)
        } else {
            current.matches.removeAll()
        }
        var sequence = max(current.through, headSequence)
        while sequence < endSequence {
            if ConsoleFilter.matches(filter, event(at: sequence).text) { current.matches.append(sequence) }
            sequence += 1
        }
        current.through = endSequence
        memo = current
    }

    /// The sequence number the next event kept will get.
    private var endSequence: UInt64 { headSequence + UInt64(count) }

    private func event(at sequence: UInt64) -> ClusterEvent { events[head + Int(sequence - headSequence)] }

    /// How many postings the index holds (for the tests' bound on memory).
    var postingCount: Int { postings.values.reduce(0) { $0 + $1.count } }

    static func trigrams(of text: String) -> Set<String> {
        let characters = Array(text.lowercased())
        guard characters.count >= 3 else { return [] }
        return Set((0...(characters.count - 3)).map { String(characters[$0..<($0 + 3)]) })
    }

    private static func intersect(_ left: [UInt64], _ right: [UInt64]) -> [UInt64] {
        var result: [UInt64] = []
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if left[i] == right[j] {
                result.append(left[i])
                i += 1
                j += 1
            } else if left[i] < right[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return result
    }
}
