import Testing
import ConclaveCoordination

@Suite struct LockKindTests {
    @Test("a kind's description names it back (status reports carry it as text); anything else is nil",
          arguments: [LockKind.mutex, .readWrite, .semaphore(permits: 1), .semaphore(permits: 40)])
    func roundTrip(_ kind: LockKind) {
        #expect(LockKind(description: kind.description) == kind)
    }

    @Test("descriptions that name no kind", arguments: ["", "Mutex", "semaphore()", "semaphore(0)", "semaphore(-2)", "semaphore(3", "rw"])
    func refused(_ text: String) {
        #expect(LockKind(description: text) == nil)
    }
}
