import Foundation
import Testing
@testable import ConclaveWire

@Suite struct NodeStatusReportTests {
    /// Reports recorded from 3 real nodes (the console's golden stream).
    static func recorded() throws -> [NodeStatusReport] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ConclaveConsoleTests/Golden/remote-stream.txt")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try NodeStatusReport(decoding: Array($0.split(separator: " ", maxSplits: 2)[2].utf8))
        }
    }

    static func full() throws -> NodeStatusReport {
        var report = try #require(try recorded().first)
        report.peers[0].match = 7
        report.peers[0].inFlight = 2
        report.peers[0].recentActive = true
        report.faults.cutFrom = [3]
        report.faults.skewMillis = -250
        report.tasks.firedByNode = [1: 4, 2: 5]
        report.tasks.heapLevels = [[10], [20, 30]]
        report.ids.worker = nil
        report.breakers = [.init(name: "cb", state: "half-open", failureRatePercent: 62.5, thresholdPercent: 50, calls: 9, notPermitted: 3)]
        report.disk = .init(syncs: 12_345, fsyncP50Micros: 176, fsyncP99Micros: 448, synced: true)
        return report
    }

    @Test("the binary form round-trips every recorded report and every kind of field, as JSON does")
    func roundTrip() throws {
        for report in try Self.recorded() + [Self.full()] {
            #expect(try NodeStatusReport(binary: report.binaryEncoded()) == report)
            #expect(try NodeStatusReport(decoding: report.encoded()) == report)
        }
    }

    @Test("every truncation, a wrong version, trailing bytes and an absurd list length are errors, never traps")
    func badInput() throws {
        let bytes = try Self.full().binaryEncoded()
        for length in 0..<bytes.count {
            #expect(throws: ServerInputError.self) { try NodeStatusReport(binary: Array(bytes.prefix(length))) }
        }
        var version = bytes
        version[0] = 9
        #expect(throws: ServerInputError("status report version 9: this build reads version 2")) { try NodeStatusReport(binary: version) }
        #expect(throws: ServerInputError.self) { try NodeStatusReport(binary: bytes + [0]) }
        var huge = bytes
        // The voters' count sits after the version, 11 numbers, and two strings.
        var offset = 1 + 11 * 8
        for _ in 0..<2 { offset += 4 + Int(UInt32(huge[offset]) | UInt32(huge[offset + 1]) << 8) }
        for index in 0..<8 { huge[offset + index] = 0xFF }
        #expect(throws: ServerInputError.self) { try NodeStatusReport(binary: huge) }
    }
}
