import Testing
@testable import ConclaveConsole

/// The console's event log: each event once, the newest kept, `/` answered from the trigram index
/// exactly as a scan of the kept lines would answer it.
struct EventLogTests {
    private static let words = ["leader", "elected", "node", "killed", "partition", "healed", "lock", "granted", "token",
                                "Ünïcode", "skew", "+250ms", "term", "5", "7", "écrit"]

    private static func event(_ sequence: UInt64, _ random: inout UInt64) -> ClusterEvent {
        var text: [String] = []
        for _ in 0..<4 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text.append(words[Int(random >> 33) % words.count])
        }
        return ClusterEvent(nanos: sequence * 1_000, kind: .info, text: text.joined(separator: " "), sequence: sequence)
    }

    @Test("the index answers every query as a scan of the kept events does, through eviction (seeded)")
    func indexMatchesScan() {
        var random: UInt64 = 42
        var log = EventLog(capacity: 300)
        var kept: [ClusterEvent] = []
        var sequence: UInt64 = 0
        for round in 0..<40 {
            // Snapshots overlap: each carries the newest 30, some seen before.
            var batch: [ClusterEvent] = []
            for _ in 0..<25 {
                sequence += 1
                batch.append(Self.event(sequence, &random))
            }
            let snapshot = Array((kept.suffix(5) + batch).suffix(30))
            log.absorb(snapshot)
            kept = Array((kept + batch).suffix(300))
            #expect(log.count == kept.count, "round \(round)")
            for query in ["lea", "der ele", "KILLED", "node k", "ünï", "écr", "+250", "zzz", "to", "~^lock", "term 5", ""] {
                let expected = kept.filter { ConsoleFilter.matches(query, $0.text) }.map(\.text)
                #expect(log.matching(query).map(\.text) == expected, "query '\(query)' in round \(round)")
            }
        }
        let bound = 300 * 4 * 14  // events × words × trigrams a word can add at most
        #expect(log.postingCount <= bound, "evicted events leave no postings behind")
    }

    @Test("a filter the index cannot answer (regex, < 3 characters) is memoized: kept up to date as events arrive and are evicted, equal to a scan")
    func memoizedScan() {
        var random: UInt64 = 7
        var log = EventLog(capacity: 200)
        var sequence: UInt64 = 0
        for round in 0..<30 {
            var batch: [ClusterEvent] = []
            for _ in 0..<17 {
                sequence += 1
                batch.append(Self.event(sequence, &random))
            }
            log.absorb(batch)
            let filter = round < 15 ? "~^lock|token$" : "5"  // changes halfway: the memo starts over
            log.memoize(filter)
            let expected = log.all.filter { ConsoleFilter.matches(filter, $0.text) }.map(\.text)
            #expect(log.matching(filter).map(\.text) == expected, "round \(round)")
        }
    }

    @Test("an event is taken in once; a source restarting its numbers is not mistaken for old events")
    func once() {
        var log = EventLog(capacity: 10)
        log.absorb([ClusterEvent(nanos: 1, kind: .info, text: "one", sequence: 1)])
        log.absorb([ClusterEvent(nanos: 1, kind: .info, text: "one", sequence: 1), ClusterEvent(nanos: 2, kind: .info, text: "two", sequence: 2)])
        #expect(log.all.map(\.text) == ["one", "two"])
        for number in 3...30 { log.absorb([ClusterEvent(nanos: 3, kind: .info, text: "event \(number)", sequence: UInt64(number))]) }
        #expect(log.count == 10 && log.all.first?.text == "event 21")
        #expect(log.matching("event 2").map(\.text) == ["event 21", "event 22", "event 23", "event 24", "event 25", "event 26", "event 27", "event 28", "event 29"])
    }

    @Test("PgUp scrolls the log back and holds its place as events arrive; End follows again")
    func scrolling() throws {
        var state = ConsoleState()
        var events: [ClusterEvent] = []
        for number in 1...100 { events.append(ClusterEvent(nanos: UInt64(number), kind: .info, text: "e\(number)", sequence: UInt64(number))) }
        var snapshot = ClusterSnapshot()
        snapshot.events = events
        _ = ConsoleApp.update(&state, .snapshot(snapshot))
        _ = ConsoleApp.update(&state, .key(.pageUp))
        _ = ConsoleApp.update(&state, .key(.pageUp))
        #expect(state.logScroll == 2 * ConsoleApp.logPage)
        snapshot.events = [ClusterEvent(nanos: 101, kind: .info, text: "e101", sequence: 101)]
        _ = ConsoleApp.update(&state, .snapshot(snapshot))
        #expect(state.logScroll == 2 * ConsoleApp.logPage + 1, "the lines in view stay put")
        _ = ConsoleApp.update(&state, .key(.home))
        #expect(state.logScroll == 100)
        _ = ConsoleApp.update(&state, .key(.end))
        #expect(state.logScroll == 0)
        _ = ConsoleApp.update(&state, .key(.pageDown))
        #expect(state.logScroll == 0)
    }
}
