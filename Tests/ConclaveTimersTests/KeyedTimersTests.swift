import Testing
import ConclaveTimers

@Suite struct KeyedTimersTests {
    @Test("one timer per key: setting again replaces, remove cancels, advance hands back due keys in order")
    func oneTimerPerKey() throws {
        var timers = try KeyedTimers(capacity: 8)
        try timers.set(1, at: 50)
        try timers.set(2, at: 20)
        try timers.set(1, at: 10)
        try timers.set(3, at: 30)
        timers.remove(3)
        #expect(timers.count == 2)
        #expect(timers.deadline(of: 1) == 10)
        #expect(timers.advance(toMillis: 40) == [1, 2], "key 1 fires once, at its replaced deadline")
        #expect(timers.count == 0)
        #expect(timers.deadline(of: 1) == nil)
        #expect(timers.advance(toMillis: 100) == [], "the replaced and removed timers are gone")
    }

    @Test("a full heap refuses a new key and leaves the key without a timer")
    func full() throws {
        var timers = try KeyedTimers(capacity: 1)
        try timers.set(1, at: 5)
        #expect(throws: TimerQueueError.self) { try timers.set(2, at: 5) }
        #expect(timers.deadline(of: 2) == nil)
        try timers.set(1, at: 7)
        #expect(timers.deadline(of: 1) == 7, "replacing a key's timer fits in a full heap")
    }
}
