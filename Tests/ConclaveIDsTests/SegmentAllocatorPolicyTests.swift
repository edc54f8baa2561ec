import ConclaveCore
import Testing
@testable import ConclaveIDs

/// Abandoned requests, the adaptive step, the threshold arithmetic, and a seeded run against a
/// simulated consensus that answers late, short, or not at all.
@Suite struct SegmentAllocatorPolicyTests {
    typealias Fixture = SegmentAllocatorTests

    @Test("an abandoned request is asked again with a new number, and a late answer to it is refused")
    func abandonAndRetry() throws {
        var allocator = try Fixture.allocator()
        let first = try Fixture.firstRequest(&allocator)
        let before = allocator
        #expect(throws: IDInputError.self) { try allocator.abandon(SegmentRequest(number: 7, count: 100)) }
        #expect(allocator == before)
        try allocator.abandon(first)
        let retry = try Fixture.firstRequest(&allocator)
        #expect(retry.number == first.number + 1)
        #expect(throws: IDInputError(parameter: "request", value: "#1", accepted: "the outstanding request #2")) {
            try allocator.supply(0..<100, for: first)
        }
        try allocator.supply(0..<100, for: retry)
        let id = allocator.next(nowMillis: 0)
        #expect(id == .id(0))
    }

    @Test("abandoning a request made mid-range asks again with the next ID")
    func abandonMidRange() throws {
        var allocator = try Fixture.serving(0..<10, step: 10, percent: 10)
        let request = try Fixture.request(withNextID: 0, from: &allocator)
        try allocator.abandon(request)
        let next = allocator.next(nowMillis: 0)
        #expect(next == .idAndRequestSegment(1, SegmentRequest(number: request.number + 1, count: 10)))
    }

    @Test("the step doubles when requests come faster than the target, halves when much slower, within its bounds")
    func adaptiveStep() throws {
        let configuration = SegmentConfiguration(stepInitial: 100, stepMin: 50, stepMax: 400, requestThresholdPercent: 100, targetRequestIntervalMillis: 1_000)
        var allocator = try Fixture.allocator(configuration)
        var nowMillis: UInt64 = 0
        var counts: [UInt64] = []
        var nextStart: UInt64 = 0
        // Request intervals: first, then 10 ms (fast), 10, 10 (capped), 1,500 (in band), 5,000 (slow) ×3 (floored).
        for intervalMillis: UInt64 in [0, 10, 10, 10, 1_500, 5_000, 5_000, 5_000] {
            nowMillis += intervalMillis
            let request = try Self.nextRequest(&allocator, nowMillis: nowMillis)
            counts.append(request.count)
            try allocator.supply(nextStart..<(nextStart + request.count), for: request)
            nextStart += request.count
        }
        #expect(counts == [100, 200, 400, 400, 400, 200, 100, 50])
    }

    /// Uses IDs until the allocator asks for a range.
    static func nextRequest(_ allocator: inout SegmentAllocator, nowMillis: UInt64) throws -> SegmentRequest {
        for _ in 0..<1_000_000 {
            let decision = allocator.next(nowMillis: nowMillis)
            if case .idAndRequestSegment(_, let request) = decision { return request }
            if case .wait(let request?) = decision { return request }
            if case .wait(nil) = decision { break }
        }
        throw Fixture.unexpected(.wait(requestSegment: nil), wanted: "a request for a range")
    }

    @Test(
        "against a slow, stingy, forgetful consensus, IDs strictly increase and come only from granted ranges",
        arguments: 1...6 as ClosedRange<UInt64>
    )
    func randomConsensus(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed, stream: 90)
        let percent = 1 + random.next(upperBound: UInt64(100))
        var allocator = try Fixture.allocator(
            SegmentConfiguration(stepInitial: 16, stepMin: 4, stepMax: 256, requestThresholdPercent: percent, targetRequestIntervalMillis: 50)
        )
        var consensus = SimulatedConsensus(nextID: random.next(upperBound: UInt64(1_000)))
        var ids: [UInt64] = []
        var nowMillis: UInt64 = 0
        var waits = 0
        for _ in 0..<20_000 {
            nowMillis += random.next(upperBound: UInt64(3))
            try consensus.answer(&allocator, nowMillis: nowMillis, random: &random)
            switch allocator.next(nowMillis: nowMillis) {
            case .id(let id):
                ids.append(id)
            case .idAndRequestSegment(let id, let request):
                ids.append(id)
                consensus.receive(request, nowMillis: nowMillis, random: &random)
            case .wait(let request):
                waits += 1
                if let request { consensus.receive(request, nowMillis: nowMillis, random: &random) }
            }
        }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        var rangeIndex = 0
        for id in ids {
            while rangeIndex < consensus.granted.count, !consensus.granted[rangeIndex].contains(id) { rangeIndex += 1 }
            #expect(rangeIndex < consensus.granted.count, "ID \(id) from no granted range")
        }
        #expect(waits > 0 && consensus.lost > 0 && consensus.granted.count > 20)
    }

    /// Answers each request after a random delay with a possibly shorter range past IDs other
    /// allocators took meanwhile, or loses it (the allocator is then told to abandon it).
    struct SimulatedConsensus {
        var nextID: UInt64
        var pending: (request: SegmentRequest, dueMillis: UInt64)?
        var granted: [Range<UInt64>] = []
        var lost = 0

        mutating func receive(_ request: SegmentRequest, nowMillis: UInt64, random: inout SeededGenerator) {
            #expect(pending == nil, "a second request while one is outstanding")
            pending = (request, nowMillis + random.next(upperBound: UInt64(40)))
        }

        mutating func answer(_ allocator: inout SegmentAllocator, nowMillis: UInt64, random: inout SeededGenerator) throws {
            guard let (request, dueMillis) = pending, nowMillis >= dueMillis else { return }
            pending = nil
            if random.chance(0.1) {
                lost += 1
                try allocator.abandon(request)
                return
            }
            nextID += random.next(upperBound: UInt64(50))
            let range = nextID..<(nextID + 1 + random.next(upperBound: request.count))
            nextID = range.upperBound
            try allocator.supply(range, for: request)
            granted.append(range)
        }
    }

    @Test("the threshold is ⌈count × percent / 100⌉, exact at the top of the range", arguments: [
        (100, 10, 10), (101, 10, 11), (1, 1, 1), (1, 100, 1), (7, 50, 4), (UInt64.max, 100, UInt64.max), (UInt64.max, 50, UInt64.max / 2 + 1),
    ] as [(UInt64, UInt64, UInt64)])
    func thresholdArithmetic(count: UInt64, percent: UInt64, expected: UInt64) {
        #expect(SegmentAllocator.share(of: count, percent: percent) == expected)
    }
}
