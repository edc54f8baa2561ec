import Testing
@testable import ConclaveCore

@Suite struct SeededGeneratorTests {
    @Test("the same seed and stream give the same sequence")
    func sameSeedSameSequence() {
        var first = SeededGenerator(seed: 42, stream: 3)
        var second = SeededGenerator(seed: 42, stream: 3)
        for _ in 0..<100 { #expect(first.next() == second.next()) }
    }

    @Test("different streams of one seed diverge")
    func streamsDiverge() {
        var first = SeededGenerator(seed: 42, stream: 1)
        var second = SeededGenerator(seed: 42, stream: 2)
        let a = (0..<8).map { _ in first.next() }
        let b = (0..<8).map { _ in second.next() }
        #expect(a != b)
    }

    @Test("chance(p) is roughly p and exact at the ends")
    func chanceMatchesProbability() {
        var generator = SeededGenerator(seed: 7)
        let hits = (0..<100_000).filter { _ in generator.chance(0.25) }.count
        #expect(abs(hits - 25_000) < 1_000)
        let never = generator.chance(0)
        let always = generator.chance(1)
        #expect(!never)
        #expect(always)
    }
}
