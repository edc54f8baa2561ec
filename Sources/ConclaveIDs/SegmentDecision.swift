/// The answer to `SegmentAllocator.next(nowMillis:)`.
public enum SegmentDecision: Hashable, Sendable {
    /// A new ID, strictly greater than every ID this allocator issued before.
    case id(UInt64)
    /// A new ID, and the current range just reached the request threshold: ask consensus for the
    /// next range as `requestSegment` says, then hand it to `supply(_:for:)`. Given once per request.
    case idAndRequestSegment(UInt64, SegmentRequest)
    /// Both ranges are used up; ask again after `supply(_:for:)`. With a request, send it (it is new);
    /// with nil, a request is already on its way.
    case wait(requestSegment: SegmentRequest?)
}

/// A request for the next range of IDs, to be answered by `SegmentAllocator.supply(_:for:)`.
public struct SegmentRequest: Hashable, Sendable {
    /// Numbers the allocator's requests from 1, so a late answer to an abandoned request is told
    /// apart from the answer to the current one.
    public let number: UInt64
    /// How many IDs to ask for; consensus may grant fewer (any non-empty range is accepted).
    public let count: UInt64

    public init(number: UInt64, count: UInt64) {
        self.number = number
        self.count = count
    }
}
