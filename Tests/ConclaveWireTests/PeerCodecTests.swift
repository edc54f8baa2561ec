import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveWire

@Suite struct PeerCodecTests {
    static func sampleMessages() -> [Message] {
        var append = Message(kind: .append, from: 1, to: 2, term: 7, logTerm: 6, index: 41,
                             entries: [Entry(term: 7, index: 42, data: [1, 2, 3]), Entry(term: 7, index: 43, kind: .membership, data: [])],
                             commit: 40, context: 9)
        append.clockRound = 7 << 32 | 3
        append.clockNanos = 123_456
        var snapshot = Message(kind: .snapshot, from: 1, to: 3, term: 7)
        snapshot.chunk = SnapshotChunk(index: 100, term: 6, voters: [1, 2, 3], learners: [4], offset: 65_536, totalBytes: 200_000, data: [9, 9])
        let reject = Message(kind: .appendResponse, from: 2, to: 1, term: 7, logTerm: 5, index: 50, reject: true, rejectHint: 44)
        let vote = Message(kind: .vote, from: 3, to: 1, term: 8, logTerm: 7, index: 43, transfer: true)
        return [append, snapshot, reject, vote]
    }

    @Test("every frame kind round-trips, and a frame cut anywhere asks for more")
    func roundTrip() throws {
        for frame in [PeerFrame.hello(node: 3, token: "secret"), .refused(reason: "wrong token"), .messages(Self.sampleMessages()), .messages([])] {
            let bytes = frame.encoded(clusterID: 77)
            let decoded = try #require(try PeerFrame.decode(bytes, clusterID: 77))
            #expect(decoded.frame == frame)
            #expect(decoded.consumed == bytes.count)
            for cut in 0..<bytes.count { #expect(try PeerFrame.decode(Array(bytes.prefix(cut)), clusterID: 77) == nil) }
        }
    }

    @Test("a frame of another cluster, another version, or an absurd length is refused by name")
    func refusals() throws {
        let bytes = PeerFrame.hello(node: 1, token: "").encoded(clusterID: 5)
        #expect(throws: PeerCodecError.wrongCluster(got: 5, expected: 6)) { try PeerFrame.decode(bytes, clusterID: 6) }
        var wrongVersion = bytes
        wrongVersion[4] = 9
        #expect(throws: PeerCodecError.wrongVersion(got: 9, expected: 1)) { try PeerFrame.decode(wrongVersion, clusterID: 5) }
        #expect(throws: PeerCodecError.self) { try PeerFrame.decode([0xFF, 0xFF, 0xFF, 0x7F], clusterID: 5) }
        #expect(throws: PeerCodecError.self) { try PeerFrame.decode(Array("GET / HTTP/1.1\r\n\r\n".utf8), clusterID: 5) }
    }

    @Test("corrupt frames are refused, never trapped on (100,000 mutations, seeded)")
    func fuzz() {
        var random = SeededGenerator(seed: 0xBEEF, stream: 2)
        let valid = PeerFrame.messages(Self.sampleMessages()).encoded(clusterID: 1)
        var refused = 0
        for _ in 0..<100_000 {
            var bytes = valid
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let position = 4 + Int(random.next() % UInt64(bytes.count - 4))
                bytes[position] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.next() % 8 == 0 { bytes.removeLast(Int(random.next() % 16)) }
            do { _ = try PeerFrame.decode(bytes, clusterID: 1) } catch { refused += 1 }
        }
        #expect(refused > 0)
    }
}
