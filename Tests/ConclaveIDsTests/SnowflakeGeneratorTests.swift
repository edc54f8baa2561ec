import ConclaveCore
import Testing
@testable import ConclaveIDs

@Suite struct SnowflakeGeneratorTests {
    static let epochMillis: UInt64 = 1_000_000
    static let leaseForever = UInt64.max

    static func generator(
        layout: SnowflakeLayout = .standard, datacenterID: UInt64 = 1, workerID: UInt64 = 2, rollbackWaitMillisMax: UInt64 = 5,
        leaseExpiresAtMillis: UInt64 = leaseForever, startAfterMillis: UInt64 = 0
    ) throws -> SnowflakeGenerator {
        let configuration = SnowflakeConfiguration(
            layout: layout, epochMillis: epochMillis, datacenterID: datacenterID, workerID: workerID,
            rollbackWaitMillisMax: rollbackWaitMillisMax, leaseSafetyMarginMillis: 1_000
        )
        return try SnowflakeGenerator(configuration: configuration, leaseExpiresAtMillis: leaseExpiresAtMillis, startAfterMillis: startAfterMillis)
    }

    /// The ID in `decision`, or a failed expectation.
    static func id(_ decision: SnowflakeDecision, sourceLocation: SourceLocation = #_sourceLocation) throws -> UInt64 {
        guard case .id(let id) = decision else {
            Issue.record("expected an ID, got \(decision)", sourceLocation: sourceLocation)
            throw IDInputError(parameter: "decision", value: "\(decision)", accepted: "an ID")
        }
        return id
    }

    @Test(
        "a configuration out of range is refused, naming the parameter",
        arguments: [
            (SnowflakeConfiguration(datacenterID: 32, workerID: 0), "datacenterID"),
            (SnowflakeConfiguration(datacenterID: 0, workerID: 32), "workerID"),
            (SnowflakeConfiguration(layout: try! SnowflakeLayout(parsing: "41,0,10,12"), datacenterID: 1, workerID: 0), "datacenterID"),
            (SnowflakeConfiguration(epochMillis: UInt64.max - 5, datacenterID: 0, workerID: 0), "epochMillis"),
            (SnowflakeConfiguration(datacenterID: 0, workerID: 0, rollbackWaitMillisMax: 60_001), "rollbackWaitMillisMax"),
            (SnowflakeConfiguration(datacenterID: 0, workerID: 0, leaseSafetyMarginMillis: 0), "leaseSafetyMarginMillis"),
        ]
    )
    func badConfiguration(configuration: SnowflakeConfiguration, parameter: String) {
        #expect {
            _ = try SnowflakeGenerator(configuration: configuration, leaseExpiresAtMillis: Self.leaseForever)
        } throws: { ($0 as? IDInputError)?.parameter == parameter }
    }

    @Test("a start after the layout's last millisecond is refused")
    func startAfterOutOfRange() {
        let pastEnd = Self.epochMillis + SnowflakeLayout.standard.timestampMillisMax + 1
        #expect { _ = try Self.generator(startAfterMillis: pastEnd) } throws: { ($0 as? IDInputError)?.parameter == "startAfterMillis" }
    }

    @Test("IDs carry the configured fields, and the sequence counts within a millisecond and restarts in the next")
    func fieldsAndSequence() throws {
        var generator = try Self.generator(datacenterID: 3, workerID: 17)
        let first = try Self.id(generator.next(nowMillis: Self.epochMillis + 10))
        let second = try Self.id(generator.next(nowMillis: Self.epochMillis + 10))
        let third = try Self.id(generator.next(nowMillis: Self.epochMillis + 12))
        let layout = SnowflakeLayout.standard
        #expect(try layout.decode(first) == SnowflakeFields(timestampMillis: 10, datacenterID: 3, workerID: 17, sequence: 0))
        #expect(try layout.decode(second) == SnowflakeFields(timestampMillis: 10, datacenterID: 3, workerID: 17, sequence: 1))
        #expect(try layout.decode(third) == SnowflakeFields(timestampMillis: 12, datacenterID: 3, workerID: 17, sequence: 0))
        #expect(generator.lastTimestampMillis == Self.epochMillis + 12)
    }

    @Test("a clock exactly at the epoch issues timestamp 0; before it is refused and changes nothing")
    func epochBoundary() throws {
        var generator = try Self.generator()
        let before = generator
        let early = generator.next(nowMillis: Self.epochMillis - 1)
        #expect(early == .refused(.beforeEpoch(nowMillis: Self.epochMillis - 1, epochMillis: Self.epochMillis)))
        #expect(generator == before)
        let id = try Self.id(generator.next(nowMillis: Self.epochMillis))
        #expect(try SnowflakeLayout.standard.decode(id).timestampMillis == 0)
    }

    @Test("a used-up sequence waits for the next millisecond and changes nothing")
    func sequenceExhaustion() throws {
        let layout = try SnowflakeLayout(parsing: "50,5,5,3")
        var generator = try Self.generator(layout: layout)
        let now = Self.epochMillis + 100
        var ids: [UInt64] = []
        for _ in 0..<8 { ids.append(try Self.id(generator.next(nowMillis: now))) }
        let before = generator
        let exhausted = generator.next(nowMillis: now)
        #expect(exhausted == .wait(untilMillis: now + 1))
        #expect(generator == before)
        let next = try Self.id(generator.next(nowMillis: now + 1))
        #expect(try layout.decode(next).sequence == 0)
        #expect(ids == ids.sorted() && Set(ids).count == 8 && next > ids.last!)
    }

    @Test("a small step back waits until the last millisecond used, then continues its sequence")
    func smallRollbackWaits() throws {
        var generator = try Self.generator()
        let last = try Self.id(generator.next(nowMillis: Self.epochMillis + 500))
        let before = generator
        let back = generator.next(nowMillis: Self.epochMillis + 495)
        #expect(back == .wait(untilMillis: Self.epochMillis + 500))
        #expect(generator == before)
        let resumed = try Self.id(generator.next(nowMillis: Self.epochMillis + 500))
        #expect(resumed == last + 1)
    }

    @Test("a small step back after a used-up millisecond waits for the millisecond after it")
    func smallRollbackAfterExhaustion() throws {
        var generator = try Self.generator(layout: SnowflakeLayout(parsing: "50,5,7,1"))
        for _ in 0..<2 { _ = try Self.id(generator.next(nowMillis: Self.epochMillis + 500)) }
        let back = generator.next(nowMillis: Self.epochMillis + 498)
        #expect(back == .wait(untilMillis: Self.epochMillis + 501))
    }

    @Test("a step back beyond the threshold is refused until the clock catches up, and changes nothing")
    func largeRollbackRefused() throws {
        var generator = try Self.generator(rollbackWaitMillisMax: 5)
        let last = try Self.id(generator.next(nowMillis: Self.epochMillis + 500))
        let before = generator
        let back = generator.next(nowMillis: Self.epochMillis + 494)
        #expect(back == .refused(.clockRolledBack(nowMillis: Self.epochMillis + 494, lastMillis: Self.epochMillis + 500, waitMillisMax: 5)))
        #expect(generator == before)
        if case .refused(let refusal) = back {
            #expect(refusal.description.contains("stepped back 6 ms"))
            #expect(refusal.description.contains("at most 5 ms"))
        }
        let later = try Self.id(generator.next(nowMillis: Self.epochMillis + 501))
        #expect(later > last)
    }

    @Test("after a forward jump, a clock that comes back is refused until real time reaches the jump")
    func forwardJumpThenBack() throws {
        var generator = try Self.generator()
        let jumped = try Self.id(generator.next(nowMillis: Self.epochMillis + 60_000))
        for now in stride(from: Self.epochMillis + 1_000, to: Self.epochMillis + 59_990, by: 997) {
            let decision = generator.next(nowMillis: now)
            guard case .refused(.clockRolledBack) = decision else {
                Issue.record("at \(now): \(decision)")
                return
            }
        }
        let caughtUp = try Self.id(generator.next(nowMillis: Self.epochMillis + 60_000))
        #expect(caughtUp == jumped + 1)
    }

    @Test("a timestamp past the layout's range is refused, never wrapped")
    func timestampOverflow() throws {
        let layout = try SnowflakeLayout(parsing: "10,26,26,1")  // 1,024 ms from the epoch, 2 IDs per ms
        var generator = try Self.generator(layout: layout)
        let lastEncodable = Self.epochMillis + 1_023
        let past = generator.next(nowMillis: lastEncodable + 1)
        #expect(past == .refused(.timestampExhausted(nowMillis: lastEncodable + 1, lastEncodableMillis: lastEncodable)))
        for _ in 0..<2 { _ = try Self.id(generator.next(nowMillis: lastEncodable)) }
        let exhausted = generator.next(nowMillis: lastEncodable)
        #expect(exhausted == .refused(.timestampExhausted(nowMillis: lastEncodable, lastEncodableMillis: lastEncodable)))
    }
}
