import Testing
@testable import ConclaveStorage

@Suite struct DurationBucketsTests {
    @Test("quantiles land within one bucket (12.5 %) above the true value, from 1 µs to hours")
    func quantiles() {
        for micros: UInt64 in [1, 7, 8, 9, 100, 176, 190, 1_000, 12_345, 3_600_000_000] {
            var buckets = DurationBuckets()
            buckets.record(nanos: micros * 1_000)
            let reported = buckets.quantile(0.5) / 1_000
            #expect(reported > micros && Double(reported) <= Double(micros) * 1.125 + 1, "\(micros) µs reported as \(reported)")
        }
    }

    @Test("p50 and p99 of a mixed record: 98 fast syncs and 2 slow ones")
    func mixed() {
        var buckets = DurationBuckets()
        #expect(buckets.quantile(0.5) == 0, "nothing recorded")
        for _ in 0..<98 { buckets.record(nanos: 100_000) }
        for _ in 0..<2 { buckets.record(nanos: 5_000_000) }
        #expect(buckets.count == 100)
        #expect((100_000...112_500).contains(buckets.quantile(0.5)))
        #expect((100_000...112_500).contains(buckets.quantile(0.98)))
        #expect((5_000_000...5_625_000).contains(buckets.quantile(0.99)))
        #expect(buckets.quantile(1) == buckets.quantile(0.99))
    }

    @Test("every bucket's upper bound is the next bucket's first value")
    func contiguous() {
        for index in 0..<(DurationBuckets.bucketCount - 1) {
            let bound = DurationBuckets.upperBound(index)
            #expect(DurationBuckets.index(micros: bound) == index + 1, "bucket \(index) ends at \(bound)")
            #expect(DurationBuckets.index(micros: bound - 1) == index)
        }
    }
}
