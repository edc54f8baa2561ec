import ConclaveCoordination
import ConclaveCore
import ConclaveIDs
import Testing
@testable import ConclaveCluster

/// Segment mode through consensus: a range is a counter increment by the step, so ranges handed to
/// different allocators (on different nodes, across leader changes) never overlap and only grow.
@Suite struct SegmentIDTests {
    @Test("allocators on two nodes, ranges from the replicated counter: every ID unique, each allocator increasing")
    func segmentsThroughConsensus() throws {
        let cluster = TestCluster(nodes: 3, seed: 31)
        _ = try #require(cluster.checkOneLeader())
        var allocators = try [SegmentAllocator(configuration: .fixed(step: 50)), SegmentAllocator(configuration: .fixed(step: 50))]
        var sequence: UInt64 = 0
        var issued: [[UInt64]] = [[], []]
        func grant(_ request: SegmentRequest, to owner: Int) throws {
            sequence += 1
            guard case .counter(let end) = FencingTests.ask(cluster, 900 + UInt64(owner), sequence,
                                                            .increment(counter: "segment/orders", by: Int64(request.count))) else {
                Issue.record("no range granted; \(cluster.replay)"); return
            }
            try allocators[owner].supply(UInt64(end) - request.count..<UInt64(end), for: request)
        }
        for round in 0..<1_000 {
            let owner = round % 2
            if round == 500, let leader = cluster.simulator.leader { cluster.inject(.crash(leader)) }
            switch allocators[owner].next(nowMillis: UInt64(round)) {
            case .id(let id): issued[owner].append(id)
            case .idAndRequestSegment(let id, let request):
                issued[owner].append(id)
                try grant(request, to: owner)
            case .wait(let request):
                if let request { try grant(request, to: owner) }
            }
        }
        let all = issued.flatMap { $0 }
        #expect(all.count > 900)
        #expect(Set(all).count == all.count, "duplicate IDs")
        for ids in issued { #expect(ids == ids.sorted() && Set(ids).count == ids.count) }
    }
}
