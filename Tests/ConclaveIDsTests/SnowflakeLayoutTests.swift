import ConclaveCore
import Testing
@testable import ConclaveIDs

@Suite struct SnowflakeLayoutTests {
    @Test("the standard layout is 41/5/5/12 with 4,096 IDs per millisecond")
    func standardLayout() {
        let layout = SnowflakeLayout.standard
        #expect(layout.description == "41,5,5,12")
        #expect(layout.timestampMillisMax == (1 << 41) - 1)
        #expect(layout.datacenterMax == 31)
        #expect(layout.workerMax == 31)
        #expect(layout.sequenceMax == 4_095)
        #expect(layout.idsPerMillisMax == 4_096)
    }

    @Test("fields land where Twitter's layout puts them")
    func knownEncoding() throws {
        let fields = SnowflakeFields(timestampMillis: 1, datacenterID: 2, workerID: 3, sequence: 4)
        let id = try SnowflakeLayout.standard.encode(fields)
        #expect(id == 1 << 22 | 2 << 17 | 3 << 12 | 4)
        #expect(try SnowflakeLayout.standard.decode(id) == fields)
    }

    @Test(
        "a bad width is refused, naming the width or the layout",
        arguments: [
            ([0, 5, 5, 53], "timestampBits"), ([41, -1, 5, 18], "datacenterBits"), ([41, 5, 0, 17], "workerBits"),
            ([41, 5, 17, 0], "sequenceBits"), ([62, 0, 1, 0], "timestampBits"), ([41, 5, 5, 13], "layout"),
            ([41, 5, 5, 11], "layout"), ([1, 1, 1, 1], "layout"),
        ]
    )
    func badWidths(widths: [Int], parameter: String) {
        #expect {
            _ = try SnowflakeLayout(timestampBits: widths[0], datacenterBits: widths[1], workerBits: widths[2], sequenceBits: widths[3])
        } throws: { error in
            (error as? IDInputError)?.parameter == parameter
        }
    }

    @Test("a sum other than 63 says the sum and what is accepted")
    func sumMessage() {
        #expect(throws: IDInputError(parameter: "layout", value: "41,5,5,13 (sum 64)", accepted: "bit widths that sum to 63")) {
            _ = try SnowflakeLayout(parsing: "41,5,5,13")
        }
    }

    @Test("a datacenter field of 0 bits is allowed and its only value is 0")
    func emptyDatacenter() throws {
        let layout = try SnowflakeLayout(parsing: "41,0,10,12")
        #expect(layout.datacenterMax == 0)
        #expect(layout.workerMax == 1_023)
        let id = try layout.encode(SnowflakeFields(timestampMillis: 7, datacenterID: 0, workerID: 1_000, sequence: 9))
        #expect(try layout.decode(id).workerID == 1_000)
        #expect(throws: IDInputError.self) {
            _ = try layout.encode(SnowflakeFields(timestampMillis: 7, datacenterID: 1, workerID: 0, sequence: 0))
        }
    }

    @Test("parsing accepts spaces around widths", arguments: ["41,5,5,12", " 41, 5 ,5,  12 "])
    func parsesWithSpaces(text: String) throws {
        #expect(try SnowflakeLayout(parsing: text) == .standard)
    }

    @Test("parsing refuses what is not four integers", arguments: ["", "41,5,5", "41,5,5,12,0", "a,b,c,d", "41;5;5;12", "41,5,,12", "4 1,5,5,12"])
    func refusesMalformed(text: String) {
        #expect(throws: IDInputError(parameter: "layout", value: "'\(text)'", accepted: SnowflakeLayout.acceptedText)) {
            _ = try SnowflakeLayout(parsing: text)
        }
    }

    @Test("encode names the field that does not fit")
    func encodeRefusesOversizedFields() {
        let layout = SnowflakeLayout.standard
        let cases: [(SnowflakeFields, String)] = [
            (SnowflakeFields(timestampMillis: 1 << 41, datacenterID: 0, workerID: 0, sequence: 0), "timestampMillis"),
            (SnowflakeFields(timestampMillis: 0, datacenterID: 32, workerID: 0, sequence: 0), "datacenterID"),
            (SnowflakeFields(timestampMillis: 0, datacenterID: 0, workerID: 32, sequence: 0), "workerID"),
            (SnowflakeFields(timestampMillis: 0, datacenterID: 0, workerID: 0, sequence: 4_096), "sequence"),
        ]
        for (fields, parameter) in cases {
            #expect { _ = try layout.encode(fields) } throws: { ($0 as? IDInputError)?.parameter == parameter }
        }
    }

    @Test("decode refuses an ID with bit 63 set")
    func decodeRefusesSignBit() {
        #expect(throws: IDInputError(parameter: "id", value: "\(UInt64(1) << 63)", accepted: "a value from 0 to \(UInt64.max >> 1)")) {
            _ = try SnowflakeLayout.standard.decode(1 << 63)
        }
        #expect((try? SnowflakeLayout.standard.decode(UInt64.max >> 1)) != nil)
    }

    @Test("encode and decode round-trip for many random layouts and fields", arguments: 1...8 as ClosedRange<UInt64>)
    func roundTrip(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed, stream: 40)
        for _ in 0..<200 {
            let layout = try Self.randomLayout(&random)
            for _ in 0..<50 {
                let fields = SnowflakeFields(
                    timestampMillis: random.next() & layout.timestampMillisMax, datacenterID: random.next() & layout.datacenterMax,
                    workerID: random.next() & layout.workerMax, sequence: random.next() & layout.sequenceMax
                )
                let id = try layout.encode(fields)
                #expect(id >> 63 == 0)
                #expect(try layout.decode(id) == fields)
                let anyID = random.next() >> 1
                #expect(try layout.encode(layout.decode(anyID)) == anyID)
            }
        }
    }

    @Test("a later timestamp always makes a larger ID, whatever the other fields", arguments: 1...4 as ClosedRange<UInt64>)
    func timestampOrdersIDs(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed, stream: 41)
        let layout = try Self.randomLayout(&random)
        for _ in 0..<1_000 {
            let early = random.next() & layout.timestampMillisMax >> 1
            let earlier = SnowflakeFields(timestampMillis: early, datacenterID: layout.datacenterMax, workerID: layout.workerMax, sequence: layout.sequenceMax)
            let later = SnowflakeFields(timestampMillis: early + 1, datacenterID: 0, workerID: 0, sequence: 0)
            #expect(try layout.encode(earlier) < layout.encode(later))
        }
    }

    /// A uniformly chosen valid layout: cut 63 bits into four fields, datacenter possibly empty.
    static func randomLayout(_ random: inout SeededGenerator) throws -> SnowflakeLayout {
        let timestamp = Int(random.next(upperBound: UInt64(59))) + 1  // 1…59, leaving ≥ 4 bits
        let rest = 63 - timestamp
        let datacenter = Int(random.next(upperBound: UInt64(rest - 1)))  // 0…rest-2
        let worker = Int(random.next(upperBound: UInt64(rest - datacenter - 1))) + 1
        let sequence = rest - datacenter - worker
        return try SnowflakeLayout(timestampBits: timestamp, datacenterBits: datacenter, workerBits: worker, sequenceBits: sequence)
    }
}
