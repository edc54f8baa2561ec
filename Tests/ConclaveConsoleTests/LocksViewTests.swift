import Testing
@testable import ConclaveConsole

/// The Locks view's token timeline: the newest tokens in view, the older elided at the left.
struct LocksViewTests {
    @Test("the newest tokens fit, newest last; older ones are elided with …; a short history is whole")
    func timeline() {
        let long = LocksView.tokenTimeline(Array(1...100), columns: 20)
        #expect(long == "… → 98 → 99 → 100")
        #expect(long.count <= 20)
        #expect(LocksView.tokenTimeline([3, 4, 5], columns: 40) == "3 → 4 → 5")
        #expect(LocksView.tokenTimeline([], columns: 40) == "none granted yet")
        #expect(LocksView.tokenTimeline([123_456_789], columns: 4) == "123456789", "the newest token shows even when nothing else fits")
        for columns in 1...40 {
            let line = LocksView.tokenTimeline(Array(1...50), columns: columns)
            #expect(line.hasSuffix("50"))
            #expect(line.count <= max(columns, 2 + 4))
        }
    }
}
