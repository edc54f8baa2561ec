/// A double-buffered range allocator (Leaf-segment style): serves strictly increasing IDs from a
/// current range `[start, end)` granted by consensus, asks for the next range once
/// `requestThresholdPercent` of the current one is used, and switches to that buffered range when
/// the current one runs out. Both empty: `.wait`. It never refuses: more IDs are always one
/// `supply` away, and the cluster-wide allocation (which can run out) lives in consensus.
///
/// As a value: time comes in as `nowMillis` (used only to adapt the step, see
/// `SegmentConfiguration`), requests go out inside the decisions, ranges come back through
/// `supply(_:for:)`. At most one request is outstanding, and there is never both an outstanding
/// request and a buffered range, so the allocator holds at most two ranges.
///
/// Guarantee: IDs strictly increase across ranges, because `supply` accepts only a range that
/// starts at or after the end of every range supplied before; consensus handing out disjoint,
/// increasing ranges makes the IDs of all allocators unique cluster-wide.
///
/// `next` is O(1) and allocation-free; the common case is a compare and an increment.
public struct SegmentAllocator: Hashable, Sendable {
    public let configuration: SegmentConfiguration
    /// IDs the next request will ask for.
    public private(set) var step: UInt64
    /// The request sent and not yet answered, if any.
    public private(set) var outstandingRequest: SegmentRequest?
    /// The range waiting to take over when the current one runs out, if any.
    public private(set) var bufferedRange: Range<UInt64>?

    /// The current range is `[nextID, currentEnd)`; empty when they are equal.
    private var nextID: UInt64 = 0
    private var currentEnd: UInt64 = 0
    /// Once `nextID` reaches this, the next request goes out; `UInt64.max` when none is due.
    private var requestAtID: UInt64 = .max
    /// Every range supplied so far ends at or before this; the next must start at or after it.
    private var suppliedThrough: UInt64 = 0
    private var requestsMade: UInt64 = 0
    private var lastRequestMillis: UInt64?

    /// An allocator with no range yet: its first `next` answers `.wait` with a request.
    /// - Throws: `IDInputError` for a configuration out of range.
    public init(configuration: SegmentConfiguration) throws(IDInputError) {
        try configuration.validate()
        self.configuration = configuration
        step = configuration.stepInitial
    }

    /// IDs left in the current range.
    public var remainingInCurrentRange: UInt64 { currentEnd - nextID }

    /// The next ID at clock reading `nowMillis` (ms, any monotonic origin), possibly with a request
    /// for the next range, or a wait. O(1).
    public mutating func next(nowMillis: UInt64) -> SegmentDecision {
        if nextID == currentEnd {
            guard let buffered = bufferedRange else {
                if outstandingRequest != nil { return .wait(requestSegment: nil) }
                return .wait(requestSegment: makeRequest(nowMillis: nowMillis))
            }
            bufferedRange = nil
            install(buffered)
        }
        let id = nextID
        nextID = id + 1
        guard nextID >= requestAtID else { return .id(id) }
        return .idAndRequestSegment(id, makeRequest(nowMillis: nowMillis))
    }

    /// Hands over the range consensus granted for `request`. If the current range is used up the
    /// new one becomes current at once; otherwise it is buffered until it is.
    /// - Throws: `IDInputError`, changing nothing, when `request` is not the outstanding one, the
    ///   range is empty, or it starts before the end of a range supplied earlier.
    public mutating func supply(_ range: Range<UInt64>, for request: SegmentRequest) throws(IDInputError) {
        try checkOutstanding(request)
        guard !range.isEmpty else {
            throw IDInputError(parameter: "range", value: "\(range)", accepted: "a non-empty range")
        }
        guard range.lowerBound >= suppliedThrough else {
            throw IDInputError(
                parameter: "range", value: "\(range)",
                accepted: "a range starting at or after \(suppliedThrough), the end of the ranges supplied before"
            )
        }
        outstandingRequest = nil
        suppliedThrough = range.upperBound
        if nextID == currentEnd {
            install(range)
        } else {
            bufferedRange = range
        }
    }

    /// Abandons `request` (consensus refused it, or the caller gave up waiting): the next `next`
    /// that uses an ID, or that finds both ranges empty, sends a new request. A late answer to the
    /// abandoned one is then refused by `supply`.
    /// - Throws: `IDInputError`, changing nothing, when `request` is not the outstanding one.
    public mutating func abandon(_ request: SegmentRequest) throws(IDInputError) {
        try checkOutstanding(request)
        outstandingRequest = nil
        requestAtID = 0
    }

    private func checkOutstanding(_ request: SegmentRequest) throws(IDInputError) {
        guard request == outstandingRequest else {
            throw IDInputError(
                parameter: "request", value: "#\(request.number)",
                accepted: outstandingRequest.map { "the outstanding request #\($0.number)" } ?? "none: no request is outstanding"
            )
        }
    }

    /// Makes `range` current and places its request threshold.
    private mutating func install(_ range: Range<UInt64>) {
        nextID = range.lowerBound
        currentEnd = range.upperBound
        requestAtID = range.lowerBound + Self.share(of: range.upperBound - range.lowerBound, percent: configuration.requestThresholdPercent)
    }

    /// Issues the next request, adapting the step to the interval since the previous one.
    private mutating func makeRequest(nowMillis: UInt64) -> SegmentRequest {
        if let lastRequestMillis {
            let intervalMillis = nowMillis - min(nowMillis, lastRequestMillis)
            let target = configuration.targetRequestIntervalMillis
            if intervalMillis < target {
                step = min(step * 2, configuration.stepMax)
            } else if intervalMillis > 2 * target {
                step = max(step / 2, configuration.stepMin)
            }
        }
        lastRequestMillis = nowMillis
        requestsMade += 1
        let request = SegmentRequest(number: requestsMade, count: step)
        outstandingRequest = request
        requestAtID = .max
        return request
    }

    /// ⌈count × percent / 100⌉ without overflow, for `percent` in 1…100: at least 1, at most `count`.
    static func share(of count: UInt64, percent: UInt64) -> UInt64 {
        let (quotient, remainder) = UInt64(100).dividingFullWidth(count.multipliedFullWidth(by: percent))
        return quotient + (remainder > 0 ? 1 : 0)
    }
}
