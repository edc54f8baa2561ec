import ConclaveCore
import Testing
@testable import ConclaveIDs

/// The worker-ID lease: a generator stops `leaseSafetyMarginMillis` (1,000 ms here) before its lease
/// could expire, and a new holder of the worker ID starts after the previous holder's deadline.
@Suite struct SnowflakeLeaseTests {
    typealias Fixture = SnowflakeGeneratorTests
    static let epochMillis = Fixture.epochMillis

    @Test("IDs stop a safety margin before the lease expires, with a reason naming the lease")
    func stopsBeforeExpiry() throws {
        let expiresAt = Self.epochMillis + 10_000
        var generator = try Fixture.generator(leaseExpiresAtMillis: expiresAt)
        _ = try Fixture.id(generator.next(nowMillis: expiresAt - 1_001))
        let before = generator
        let refused = generator.next(nowMillis: expiresAt - 1_000)
        #expect(refused == .refused(.leaseEnding(timestampMillis: expiresAt - 1_000, leaseExpiresAtMillis: expiresAt, safetyMarginMillis: 1_000)))
        #expect(generator == before)
        if case .refused(let refusal) = refused {
            #expect(refusal.description.contains("renew the lease"))
        }
        let afterExpiry = generator.next(nowMillis: expiresAt + 5)
        #expect(afterExpiry == .refused(.leaseEnding(timestampMillis: expiresAt + 5, leaseExpiresAtMillis: expiresAt, safetyMarginMillis: 1_000)))
    }

    @Test("a renewed lease lets IDs flow again; a shortened one stops them sooner")
    func renewal() throws {
        let expiresAt = Self.epochMillis + 10_000
        var generator = try Fixture.generator(leaseExpiresAtMillis: expiresAt)
        let refused = generator.next(nowMillis: expiresAt - 500)
        #expect(refused == .refused(.leaseEnding(timestampMillis: expiresAt - 500, leaseExpiresAtMillis: expiresAt, safetyMarginMillis: 1_000)))
        generator.renewLease(expiresAtMillis: expiresAt + 10_000)
        #expect(generator.leaseExpiresAtMillis == expiresAt + 10_000)
        _ = try Fixture.id(generator.next(nowMillis: expiresAt - 500))
        generator.renewLease(expiresAtMillis: expiresAt)
        let shortened = generator.next(nowMillis: expiresAt - 499)
        #expect(shortened == .refused(.leaseEnding(timestampMillis: expiresAt - 499, leaseExpiresAtMillis: expiresAt, safetyMarginMillis: 1_000)))
    }

    @Test("a renewal carrying a floor (the ID was lost and granted back) never stamps at or below it")
    func renewalHonoursTheGrantFloor() throws {
        let expiresAt = Self.epochMillis + 10_000
        var generator = try Fixture.generator(leaseExpiresAtMillis: expiresAt)
        let early = try Fixture.id(generator.next(nowMillis: Self.epochMillis + 1_000))
        // Another holder stamped up to epoch + 5,000 meanwhile; the grant says so.
        generator.renewLease(expiresAtMillis: expiresAt + 10_000, startAfterMillis: Self.epochMillis + 5_000)
        #expect(generator.lastTimestampMillis == Self.epochMillis + 5_000)
        if case .refused(.clockRolledBack) = generator.next(nowMillis: Self.epochMillis + 2_000) {} else {
            Issue.record("a clock behind the floor must be refused, not stamped")
        }
        let next = try Fixture.id(generator.next(nowMillis: Self.epochMillis + 5_001))
        let decoded = try SnowflakeLayout.standard.decode(next)
        #expect(next > early && decoded.timestampMillis == 5_001)
        // A lower floor changes nothing.
        generator.renewLease(expiresAtMillis: expiresAt + 10_000, startAfterMillis: Self.epochMillis + 100)
        #expect(generator.lastTimestampMillis == Self.epochMillis + 5_001)
    }

    @Test("a lease that expired before the generator was built issues nothing")
    func expiredAtBirth() throws {
        var generator = try Fixture.generator(leaseExpiresAtMillis: 0)
        let decision = generator.next(nowMillis: Self.epochMillis + 1)
        #expect(decision == .refused(.leaseEnding(timestampMillis: Self.epochMillis + 1, leaseExpiresAtMillis: 0, safetyMarginMillis: 1_000)))
    }

    @Test("a backward clock step cannot stretch the lease: the check uses the ID's timestamp")
    func rollbackCannotStretchLease() throws {
        let expiresAt = Self.epochMillis + 10_000
        var generator = try Fixture.generator(layout: SnowflakeLayout(parsing: "50,5,7,1"), leaseExpiresAtMillis: expiresAt)
        let lastAllowed = expiresAt - 1_001
        for _ in 0..<2 { _ = try Fixture.id(generator.next(nowMillis: lastAllowed)) }
        // The clock reads 3 ms earlier, well inside the lease, but the next ID would need lastAllowed + 1.
        let decision = generator.next(nowMillis: lastAllowed - 3)
        #expect(decision == .refused(.leaseEnding(timestampMillis: lastAllowed + 1, leaseExpiresAtMillis: expiresAt, safetyMarginMillis: 1_000)))
    }

    @Test("a new holder starting after the old holder's deadline issues only larger IDs, even with its clock behind")
    func handoffToNewHolder() throws {
        let oldDeadline = Self.epochMillis + 20_000
        var old = try Fixture.generator(leaseExpiresAtMillis: oldDeadline)
        var oldIDs: [UInt64] = []
        var now = Self.epochMillis + 18_000
        while case .id(let id) = old.next(nowMillis: now) {
            oldIDs.append(id)
            now += 1
        }
        #expect(oldIDs.count == 1_000)
        // The new holder's clock runs 4 ms behind the old one's: a wait; 50 ms behind: a rollback refusal.
        var new = try Fixture.generator(leaseExpiresAtMillis: oldDeadline + 30_000, startAfterMillis: oldDeadline)
        let slightlyBehind = new.next(nowMillis: oldDeadline - 4)
        #expect(slightlyBehind == .wait(untilMillis: oldDeadline + 1))
        let farBehind = new.next(nowMillis: oldDeadline - 50)
        #expect(farBehind == .refused(.clockRolledBack(nowMillis: oldDeadline - 50, lastMillis: oldDeadline, waitMillisMax: 5)))
        let atDeadline = new.next(nowMillis: oldDeadline)
        #expect(atDeadline == .wait(untilMillis: oldDeadline + 1))
        let first = try Fixture.id(new.next(nowMillis: oldDeadline + 1))
        #expect(first > oldIDs.max()!)
    }
}
