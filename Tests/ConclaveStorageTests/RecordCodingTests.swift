import ConclaveCore
import ConclaveRaft
import Testing
@testable import ConclaveStorage

@Suite struct RecordCodingTests {
    static let records: [WALRecord] = [
        .hardState(HardState(term: 7, vote: 3, commit: 42)),
        .hardState(HardState()),
        .entries(makeEntries(5...9, term: 2)),
        .entries([Entry(term: 1, index: 1, kind: .membership, data: []), Entry(term: 1, index: 2, data: [0, 255])]),
        .entries([Entry(term: .max, index: .max - 1, data: [UInt8](repeating: 9, count: 1_000))]),
        .snapshot(SnapshotMarker(index: 100, term: 4, voters: [1, 2, 3], learners: [9], replacesLog: true)),
        .snapshot(SnapshotMarker(index: 0, term: 0, voters: [], learners: [], replacesLog: false)),
        .seal(nextSequence: 12),
    ]

    @Test("every record type survives encode → frame → check → decode", arguments: 0..<records.count)
    func roundTrip(_ position: Int) throws {
        let record = Self.records[position]
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = RecordFrame.append(type: record.type, seed: 3, fileOffset: 64, to: &buffer) { record.encodePayload(into: &$0) }
        #expect(length % 8 == 0)
        #expect(length == RecordFrame.frameBytes(payloadBytes: record.payloadBytes))
        let decoded = try buffer.withUnsafeBytes { bytes in
            let frame = try RecordFrame.check(bytes, at: 64, seed: 3, payloadBytesMax: 1 << 20).get()
            #expect(frame.end == buffer.count)
            return try WALRecord.decode(type: frame.type, payload: UnsafeRawBufferPointer(rebasing: bytes[frame.payload]))
        }
        #expect(decoded == record)
    }

    @Test("a frame only checks out at its own offset and in its own segment")
    func crcBindsPosition() {
        var buffer: [UInt8] = []
        RecordFrame.append(type: .hardState, seed: 5, fileOffset: 0, to: &buffer) {
            WALRecord.hardState(HardState(term: 1)).encodePayload(into: &$0)
        }
        buffer.withUnsafeBytes { bytes in
            #expect((try? RecordFrame.check(bytes, at: 0, seed: 5, payloadBytesMax: 100).get()) != nil)
            #expect((try? RecordFrame.check(bytes, at: 0, seed: 6, payloadBytesMax: 100).get()) == nil)
            #expect((try? RecordFrame.check(bytes, at: 0, fileOffset: 8, seed: 5, payloadBytesMax: 100).get()) == nil)
        }
    }

    @Test("every single-bit flip in a frame is caught")
    func bitFlips() {
        var buffer: [UInt8] = []
        RecordFrame.append(type: .entries, seed: 1, fileOffset: 0, to: &buffer) {
            WALRecord.entries(makeEntries(1...2, term: 1)).encodePayload(into: &$0)
        }
        for byte in 0..<buffer.count {
            for bit in 0..<8 {
                var damaged = buffer
                damaged[byte] ^= 1 << bit
                let valid = damaged.withUnsafeBytes { (try? RecordFrame.check($0, at: 0, seed: 1, payloadBytesMax: 1 << 20).get()) != nil }
                #expect(!valid, "flip of bit \(bit) in byte \(byte) passed")
            }
        }
    }

    @Test("a length over the limit is refused before anything is read or allocated")
    func lengthLimit() {
        var buffer: [UInt8] = []
        RecordFrame.append(type: .entries, seed: 1, fileOffset: 0, to: &buffer) {
            WALRecord.entries(makeEntries(1...40, term: 1)).encodePayload(into: &$0)
        }
        let problem = buffer.withUnsafeBytes { bytes -> RecordFrame.Problem? in
            if case .failure(let problem) = RecordFrame.check(bytes, at: 0, seed: 1, payloadBytesMax: 100) { return problem }
            return nil
        }
        #expect(problem?.reason.contains("exceeds the limit of 100 bytes") == true)
    }

    @Test("malformed payloads with valid frames are refused with a reason")
    func malformedPayloads() {
        func decode(_ type: RecordType, _ bytes: [UInt8]) -> String? {
            bytes.withUnsafeBytes { payload -> String? in
                do throws(DecodeError) {
                    _ = try WALRecord.decode(type: type, payload: payload)
                    return nil
                } catch {
                    return error.reason
                }
            }
        }
        var hugeCount: [UInt8] = []
        hugeCount.appendLittleEndian(UInt32.max)
        #expect(decode(.entries, hugeCount)?.contains("entries claimed") == true)
        var gap: [UInt8] = []
        WALRecord.entries(makeEntries(1...1, term: 1) + makeEntries(3...3, term: 1)).encodePayload(into: &gap)
        #expect(decode(.entries, gap) == "entry 3 follows entry 1")
        #expect(decode(.hardState, [1, 2, 3])?.contains("term: needs 8 bytes") == true)
        #expect(decode(.hardState, [UInt8](repeating: 0, count: 25)) == "1 bytes left over after a hard state record")
        #expect(decode(.snapshotChunk, [1])?.contains("does not belong in a WAL segment") == true)
    }

    @Test("file headers round-trip and name what is wrong with a bad one")
    func headers() throws {
        let header = FileHeader(kind: .segment, identity: testIdentity, first: 3, second: 99)
        let bytes = header.encoded()
        #expect(bytes.count == 64)
        #expect(try bytes.withUnsafeBytes { try FileHeader.decode(.segment, from: $0) } == header)
        func problem(_ bytes: [UInt8], _ kind: FileHeader.Kind = .segment) -> String? {
            bytes.withUnsafeBytes { raw -> String? in
                do throws(DecodeError) {
                    _ = try FileHeader.decode(kind, from: raw)
                    return nil
                } catch {
                    return error.reason
                }
            }
        }
        #expect(problem(bytes, .snapshot) == "not a Conclave snapshot file (bad magic)")
        var version = bytes
        version[8] = 9
        #expect(problem(version) == "format version 9 is not supported (this build reads version 1)")
        var flipped = bytes
        flipped[20] ^= 1
        #expect(problem(flipped)?.hasPrefix("WAL segment header CRC mismatch") == true)
        #expect(problem(Array(bytes.prefix(10)))?.contains("shorter than the 64-byte") == true)
    }
}
