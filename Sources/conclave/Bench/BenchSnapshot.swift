import ConclaveCoordination
import ConclaveCore
import ConclaveRaft
import Histogram

/// Snapshot benchmarks on a KV state of a given size: write (serialize and store), install
/// (chunked transfer to an empty learner and load), and the time for a new member to go from
/// empty to caught up.
enum BenchSnapshot {
    static let runs = 3

    static func measure(stateBytes: Int) throws -> [BenchResult] {
        let machine = buildState(bytes: stateBytes)
        var writeTimes = BenchClock.latencyHistogram()
        var installTimes = BenchClock.latencyHistogram()
        var catchUpTimes = BenchClock.latencyHistogram()
        var snapshotBytes = 0
        for _ in 0..<runs {
            var cluster = try BenchCluster(nodes: 3)
            for _ in 0..<10 {
                try cluster.nodes[0].propose([1])
                cluster.round { _ in }
            }
            while cluster.nodes[0].hasReady { cluster.round { _ in } }
            let index = cluster.nodes[0].committedIndex
            let writeStart = BenchClock.nanoseconds()
            let data = machine.snapshotData()
            try cluster.storages[0].createSnapshot(index: index, voters: [1, 2, 3], learners: [], data: data)
            try cluster.storages[0].compact(through: index)
            writeTimes.record(BenchClock.nanoseconds() - writeStart)
            snapshotBytes = data.count
            let times = try cluster.catchUpNewMember { snapshot in
                let loaded = try? KVStateMachine(restoring: snapshot.data)
                precondition(loaded?.values.count == machine.values.count, "snapshot did not load")
            }
            installTimes.record(times.install)
            catchUpTimes.record(times.total)
        }
        let megabytes = Double(snapshotBytes) / 1_048_576
        func rate(_ histogram: Histogram<UInt64>) -> Double { megabytes / (Double(histogram.valueAtPercentile(50)) / 1e9) }
        return [
            BenchResult(name: "snapshot write \(Int(megabytes)) MB (serialize + store)", unit: "MB/s", value: rate(writeTimes), histogram: writeTimes),
            BenchResult(name: "snapshot install \(Int(megabytes)) MB (chunks + load)", unit: "MB/s", value: rate(installTimes), histogram: installTimes),
            BenchResult(name: "new member empty → caught up, \(Int(megabytes)) MB state", unit: "ms",
                        value: Double(catchUpTimes.valueAtPercentile(50)) / 1e6, histogram: catchUpTimes),
        ]
    }

    /// A KV state of about `bytes`: keys of 16 bytes and values of 84, ~100 bytes of snapshot each.
    static func buildState(bytes: Int) -> KVStateMachine {
        var machine = KVStateMachine()
        let value = String(repeating: "v", count: 84)
        let count = max(1, bytes / 100)
        for number in 0..<count {
            let key = "key-" + String(number).leftPadded(to: 12)
            _ = machine.apply(index: LogIndex(number + 1),
                              data: KVRequest(client: 1, sequence: UInt64(number + 1), command: .put(key: key, value: value)).encoded(),
                              nowMillis: 0)
        }
        return machine
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
