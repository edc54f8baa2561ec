import ConclaveCore
import Testing
@testable import ConclaveServer

/// The transport's fault rules, message by message: partitions both ways, seeded drops, egress
/// delays, a pause, heal.
struct PeerFaultsTests {
    @Test("a partition drops both ways on its links only; heal removes it")
    func partition() {
        var faults = PeerFaults()
        faults.partition([2])
        #expect(faults.decide(.outgoing, peer: 2) == .drop)
        #expect(faults.decide(.incoming, peer: 2) == .drop)
        #expect(faults.decide(.outgoing, peer: 3) == .deliver)
        #expect(faults.descriptions == ["2: partitioned"])
        faults.heal([2])
        #expect(faults.decide(.outgoing, peer: 2) == .deliver)
        #expect(faults.links.isEmpty)
    }

    @Test("drop: about the share asked, the same choices for the same seed, none at 0 and all at 100")
    func drop() {
        func choices(seed: UInt64) -> [Bool] {
            var faults = PeerFaults()
            faults.drop(percent: 30, seed: seed, [2, 3])
            return (0..<10_000).map { faults.decide($0 % 2 == 0 ? .outgoing : .incoming, peer: 2) == .drop }
        }
        let first = choices(seed: 42)
        let dropped = first.filter { $0 }.count
        #expect((2_700...3_300).contains(dropped), "\(dropped) of 10,000 dropped at 30%")
        #expect(first == choices(seed: 42))
        #expect(first != choices(seed: 43))
        var faults = PeerFaults()
        faults.drop(percent: 100, seed: 1, [2])
        #expect((0..<100).allSatisfy { _ in faults.decide(.incoming, peer: 2) == .drop })
        #expect(faults.descriptions == ["2: drop 100% (seed 1)"])
        faults.drop(percent: 0, seed: 1, [2])
        #expect((0..<100).allSatisfy { _ in faults.decide(.incoming, peer: 2) == .deliver })
        #expect(faults.links.isEmpty)
    }

    @Test("drop draws per link: traffic on one link does not change another's choices")
    func dropPerLink() {
        var quiet = PeerFaults()
        quiet.drop(percent: 50, seed: 9, [2, 3])
        var busy = quiet
        for _ in 0..<1_000 { _ = busy.decide(.outgoing, peer: 3) }
        #expect((0..<200).map { _ in quiet.decide(.outgoing, peer: 2) } == (0..<200).map { _ in busy.decide(.outgoing, peer: 2) })
    }

    @Test("delay holds outgoing messages only; combined rules are listed together")
    func delay() {
        var faults = PeerFaults()
        faults.delay(millis: 150, [3])
        #expect(faults.decide(.outgoing, peer: 3) == .delay(millis: 150))
        #expect(faults.decide(.incoming, peer: 3) == .deliver)
        faults.drop(percent: 10, seed: 5, [3])
        #expect(faults.descriptions == ["3: drop 10% (seed 5), delay 150 ms"])
        faults.delay(millis: 0, [3])
        #expect(faults.descriptions == ["3: drop 10% (seed 5)"])
    }

    @Test("a paused node drops everything either way; rules stay for after the pause")
    func paused() {
        var faults = PeerFaults()
        faults.delay(millis: 10, [2])
        faults.paused = true
        #expect(faults.decide(.outgoing, peer: 2) == .drop)
        #expect(faults.decide(.incoming, peer: 3) == .drop)
        faults.paused = false
        #expect(faults.decide(.outgoing, peer: 2) == .delay(millis: 10))
    }
}
