import ConclaveCore
import Testing
@testable import ConclaveIDs

@Suite struct SegmentAllocatorTests {
    static func allocator(_ configuration: SegmentConfiguration = .fixed(step: 100)) throws -> SegmentAllocator {
        try SegmentAllocator(configuration: configuration)
    }

    /// The first request of a fresh allocator, and the allocator after it was sent.
    static func firstRequest(_ allocator: inout SegmentAllocator, nowMillis: UInt64 = 0) throws -> SegmentRequest {
        let decision = allocator.next(nowMillis: nowMillis)
        guard case .wait(let request?) = decision else { throw unexpected(decision, wanted: "a wait with a request") }
        return request
    }

    /// An allocator with a fixed step, serving `range` in answer to its first request.
    static func serving(_ range: Range<UInt64>, step: UInt64, percent: UInt64) throws -> SegmentAllocator {
        var allocator = try allocator(.fixed(step: step, requestThresholdPercent: percent))
        try allocator.supply(range, for: firstRequest(&allocator))
        return allocator
    }

    /// Takes the next ID, which must be `id` and come with a request; returns the request.
    static func request(withNextID id: UInt64, from allocator: inout SegmentAllocator) throws -> SegmentRequest {
        let decision = allocator.next(nowMillis: 0)
        guard case .idAndRequestSegment(id, let request) = decision else { throw unexpected(decision, wanted: "ID \(id) with a request") }
        return request
    }

    /// Records an issue for a decision the test did not expect, and returns an error to end the test.
    static func unexpected(_ decision: SegmentDecision, wanted: String, sourceLocation: SourceLocation = #_sourceLocation) -> IDInputError {
        Issue.record("expected \(wanted), got \(decision)", sourceLocation: sourceLocation)
        return IDInputError(parameter: "decision", value: "\(decision)", accepted: wanted)
    }

    @Test(
        "a configuration out of range is refused, naming the parameter",
        arguments: [
            (SegmentConfiguration(stepMin: 0), "stepMin"),
            (SegmentConfiguration(stepMin: 10, stepMax: 5), "stepMax"),
            (SegmentConfiguration(stepInitial: 5, stepMin: 10, stepMax: 20), "stepInitial"),
            (SegmentConfiguration(stepMin: 1, stepMax: SegmentConfiguration.stepLimit + 1), "stepMax"),
            (SegmentConfiguration(requestThresholdPercent: 0), "requestThresholdPercent"),
            (SegmentConfiguration(requestThresholdPercent: 101), "requestThresholdPercent"),
            (SegmentConfiguration(targetRequestIntervalMillis: 0), "targetRequestIntervalMillis"),
        ]
    )
    func badConfiguration(configuration: SegmentConfiguration, parameter: String) {
        #expect { _ = try SegmentAllocator(configuration: configuration) } throws: { ($0 as? IDInputError)?.parameter == parameter }
    }

    @Test("a fresh allocator asks for a range once, waits, then serves it from its start")
    func firstRange() throws {
        var allocator = try Self.allocator()
        let request = try Self.firstRequest(&allocator)
        #expect(request == SegmentRequest(number: 1, count: 100))
        let again = allocator.next(nowMillis: 1)
        #expect(again == .wait(requestSegment: nil))
        try allocator.supply(5_000..<5_100, for: request)
        let first = allocator.next(nowMillis: 2)
        #expect(first == .id(5_000))
        #expect(allocator.remainingInCurrentRange == 99)
    }

    @Test("the next range is requested exactly when the threshold share is used, and only once", arguments: [1, 10, 50, 99, 100] as [UInt64])
    func requestsAtThreshold(percent: UInt64) throws {
        var allocator = try Self.serving(0..<100, step: 100, percent: percent)
        var requests: [(afterIDs: Int, SegmentRequest)] = []
        for issued in 1...100 {
            switch allocator.next(nowMillis: 0) {
            case .id: break
            case .idAndRequestSegment(_, let request): requests.append((issued, request))
            case .wait: Issue.record("waited with IDs left")
            }
        }
        #expect(requests.count == 1)
        #expect(requests.first?.afterIDs == Int(percent))
        #expect(requests.first?.1.number == 2)
    }

    @Test("IDs increase across switches to the buffered range, and wait when both ranges are used up")
    func switchesAndWaits() throws {
        var allocator = try Self.serving(100..<110, step: 10, percent: 50)
        var ids: [UInt64] = []
        var pending: SegmentRequest?
        for _ in 0..<10 {
            switch allocator.next(nowMillis: 0) {
            case .id(let id): ids.append(id)
            case .idAndRequestSegment(let id, let request): ids.append(id); pending = request
            case .wait: Issue.record("waited with IDs left")
            }
        }
        let request = try #require(pending)
        let waiting = allocator.next(nowMillis: 0)
        #expect(waiting == .wait(requestSegment: nil))
        try allocator.supply(500..<503, for: request)
        for _ in 0..<3 {
            let decision = allocator.next(nowMillis: 0)
            switch decision {
            case .id(let id), .idAndRequestSegment(let id, _): ids.append(id)
            case .wait: Issue.record("waited with IDs left")
            }
        }
        #expect(ids == Array(100..<110) + Array(500..<503))
    }

    @Test("a buffered range takes over the moment the current one runs out")
    func bufferedTakesOver() throws {
        var allocator = try Self.serving(0..<4, step: 4, percent: 25)
        let request = try Self.request(withNextID: 0, from: &allocator)
        try allocator.supply(10..<14, for: request)
        #expect(allocator.bufferedRange == 10..<14)
        for expected in UInt64(1)..<4 {
            let decision = allocator.next(nowMillis: 0)
            #expect(decision == .id(expected))
        }
        let switched = allocator.next(nowMillis: 0)
        #expect(switched == .idAndRequestSegment(10, SegmentRequest(number: 3, count: 4)))
        #expect(allocator.bufferedRange == nil)
    }

    @Test("a supply with no request outstanding is refused without a change")
    func supplyWithoutRequest() throws {
        var allocator = try Self.allocator()
        let before = allocator
        let stray = SegmentRequest(number: 9, count: 100)
        #expect(throws: IDInputError(parameter: "request", value: "#9", accepted: "none: no request is outstanding")) {
            try allocator.supply(0..<10, for: stray)
        }
        #expect(allocator == before)
    }

    @Test("supplies for the wrong request, empty ranges and ranges overlapping earlier ones are refused without a change")
    func refusedSupplies() throws {
        var allocator = try Self.serving(1_000..<1_010, step: 10, percent: 10)
        let request = try Self.request(withNextID: 1_000, from: &allocator)
        let before = allocator
        let wrong = SegmentRequest(number: request.number + 1, count: request.count)
        let attempts: [(Range<UInt64>, SegmentRequest, String)] = [
            (2_000..<2_010, wrong, "request"), (2_000..<2_000, request, "range"), (1_005..<1_020, request, "range"),
            (0..<10, request, "range"),
        ]
        for (range, attempt, parameter) in attempts {
            #expect { try allocator.supply(range, for: attempt) } throws: { ($0 as? IDInputError)?.parameter == parameter }
            #expect(allocator == before)
        }
        try allocator.supply(1_010..<1_020, for: request)
        #expect(allocator.bufferedRange == 1_010..<1_020)
    }
}
