import ConclaveWire
import Foundation
import Testing
@testable import ConclaveServer

/// A daemon takes its due snapshots off the event loop (`NodeConfig.snapshotsInBackground`): the
/// file is encoded and written on a background queue, made current on the loop, the log compacted
/// behind it — and a restart recovers from that snapshot with every acknowledged write.
@Suite(.serialized) struct BackgroundSnapshotTests {
    static func info(_ client: TestSocket, _ field: String) -> UInt64? {
        client.send("INFO persistence\r\n")
        guard case .bulkString(let text) = client.replies(1).values.first else { return nil }
        return String(decoding: text, as: UTF8.self).split(separator: "\r\n")
            .first { $0.hasPrefix(field + ":") }.flatMap { UInt64($0.dropFirst(field.count + 1)) }
    }

    @Test("due snapshots are written off the loop while writes go on; the log is compacted; a restart recovers from the snapshot")
    func snapshotsOffTheLoop() throws {
        let tune: (inout NodeDaemon.Settings) -> Void = {
            $0.snapshotEveryEntries = 100
            $0.snapshotLogRatio = 0
            $0.compactionKeepEntries = 10
        }
        var node = try NodeDaemonTests.start(tune: tune)
        let directory = node.directory
        defer { NodeDaemonTests.stop(node) }
        var client = try TestSocket(port: node.port)
        let value = String(repeating: "x", count: 512)
        for batch in 0..<10 {
            client.send((0..<50).map { "SET k\(batch * 50 + $0) \(value)\r\n" }.joined())
            let replies = client.replies(50).values
            #expect(replies.allSatisfy { $0 == .simpleString("OK") }, "batch \(batch)")
        }
        let deadline = Date().addingTimeInterval(20)
        var snapshot: UInt64 = 0
        while Date() < deadline {
            snapshot = Self.info(client, "snapshot_index") ?? 0
            if snapshot >= 400 { break }
            usleep(20_000)
        }
        #expect(snapshot >= 400, "snapshots kept up with 500 writes (snapshot_index \(snapshot))")
        #expect((Self.info(client, "wal_first_index") ?? 0) > 300, "the log was compacted behind the snapshot")

        node.daemon.shutdown()
        _ = node.daemon.wait()
        node = try NodeDaemonTests.start(directory: directory, tune: tune)
        client = try TestSocket(port: node.port)
        client.send((0..<500).map { "GET k\($0)\r\n" }.joined())
        let values = client.replies(500).values
        #expect(values.count == 500 && values.allSatisfy { $0 == .bulk(value) }, "every acknowledged write after the restart")
        #expect((Self.info(client, "snapshot_index") ?? 0) >= snapshot, "recovered from the snapshot")
    }
}
