import ConclaveCore
import ConclaveWire
import Testing
@testable import ConclaveCoordination
@testable import ConclaveServer

/// Member addresses from the replicated config: a node that keeps up reads only the events since
/// the revision it last saw; one that was far behind (or starts) reads every key.
struct MemberAddressesTests {
    private func store(_ writes: [(String, String?)]) throws -> ConfigStore {
        var config = ConfigStore()
        for (key, value) in writes { _ = try config.write(key, value: value) }
        return config
    }

    @Test("after a revision: only the addresses written since, other keys and bad values skipped")
    func sinceRevision() throws {
        var config = try store([(MemberAddresses.key(4), "127.0.0.1:7104"), ("app/x", "1")])
        let seen = config.revision
        _ = try config.write(MemberAddresses.key(5), value: "127.0.0.1:7105")
        _ = try config.write("app/y", value: "2")
        _ = try config.write("conclave/members/6/peer-address", value: "not an address")
        #expect(MemberAddresses.changed(in: config, after: seen) == [5: PeerAddress(host: "127.0.0.1", port: 7105)])
        #expect(MemberAddresses.changed(in: config, after: config.revision).isEmpty, "nothing since the newest revision")
        let everything: [NodeID: PeerAddress] = [4: PeerAddress(host: "127.0.0.1", port: 7104), 5: PeerAddress(host: "127.0.0.1", port: 7105)]
        #expect(MemberAddresses.changed(in: config, after: .max) == everything, "a node that starts reads every key")
        #expect(MemberAddresses.changed(in: config, after: 0) == everything)
    }

    @Test("when the events since the revision are no longer all kept, every key is read")
    func compacted() throws {
        var config = try store([(MemberAddresses.key(4), "127.0.0.1:7104")])
        for index in 0..<(ConfigStore.eventsMax + 10) { _ = try config.write("app/\(index % 50)", value: "\(index)") }
        #expect(config.events.first!.revision > 2, "the address's event was dropped")
        #expect(MemberAddresses.changed(in: config, after: 1) == [4: PeerAddress(host: "127.0.0.1", port: 7104)])
    }

    @Test("the store finds the first event past a revision by bisection, at every position")
    func firstEvent() throws {
        let config = try store((0..<9).map { ("k\($0)", "\($0)") })
        for revision in UInt64(0)...10 {
            #expect(config.firstEvent(after: revision) == config.events.firstIndex { $0.revision > revision } ?? config.events.endIndex)
        }
    }
}
