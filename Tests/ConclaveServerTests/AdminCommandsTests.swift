import ConclaveCore
import ConclaveWire
import Testing
@testable import ConclaveServer

/// ADMIN.* parsing: what each command becomes, its limits at and past the edge, and errors that
/// name what was wrong and what is accepted.
struct AdminCommandsTests {
    private func parse(_ line: String) -> Result<AdminCommand, RESPError> {
        let words = line.split(separator: " ").map(String.init)
        return AdminCommands.parse(words[0].uppercased(), words.dropFirst().map { Array($0.utf8) })
    }

    private func error(_ line: String) -> String {
        guard case .failure(let error) = parse(line) else { return "parsed" }
        return error.message
    }

    @Test("each command parses into what it asks")
    func commands() throws {
        #expect(try parse("admin.partition 2 3").get() == .partition([2, 3]))
        #expect(try parse("ADMIN.HEAL").get() == .heal([]))
        #expect(try parse("ADMIN.HEAL 3").get() == .heal([3]))
        #expect(try parse("ADMIN.DROP 25").get() == .drop(percent: 25, peers: [], seed: nil))
        #expect(try parse("ADMIN.DROP 25 2 SEED 7").get() == .drop(percent: 25, peers: [2], seed: 7))
        #expect(try parse("ADMIN.DROP 0 seed 7").get() == .drop(percent: 0, peers: [], seed: 7))
        #expect(try parse("ADMIN.DELAY 150 1 3").get() == .delay(millis: 150, peers: [1, 3]))
        #expect(try parse("ADMIN.PAUSE 3").get() == .pause(seconds: 3))
        #expect(try parse("ADMIN.PAUSE 0").get() == .pause(seconds: 0))
        #expect(try parse("ADMIN.SKEW -5000").get() == .skew(millis: -5_000))
        #expect(try parse("ADMIN.TRANSFER-LEADER 2").get() == .transferLeader(2))
        #expect(try parse("ADMIN.ADD-MEMBER 3").get() == .addMember(3, address: nil))
        #expect(try parse("ADMIN.ADD-MEMBER 3 127.0.0.1:7103").get() == .addMember(3, address: PeerAddress(host: "127.0.0.1", port: 7_103)))
        #expect(try parse("ADMIN.REMOVE-MEMBER 3").get() == .removeMember(3))
        #expect(try parse("ADMIN.SNAPSHOT").get() == .snapshot)
        #expect(try parse("ADMIN.FAULTS").get() == .faults)
        #expect(try parse("ADMIN.DISK-FAULT fsync").get() == .diskFaultSync)
    }

    @Test("limits: percent 0…100, delay ≤ 60,000 ms, pause ≤ 300 s, skew within ±1 day, node IDs 1…31")
    func limits() throws {
        #expect(try parse("ADMIN.DROP 100").get() == .drop(percent: 100, peers: [], seed: nil))
        #expect(error("ADMIN.DROP 101") == "ERR percent must be an integer in 0…100, got '101'")
        #expect(error("ADMIN.DROP -1") == "ERR percent must be an integer in 0…100, got '-1'")
        #expect(try parse("ADMIN.DELAY 60000").get() == .delay(millis: 60_000, peers: []))
        #expect(error("ADMIN.DELAY 60001") == "ERR delay-ms must be an integer in 0…60000, got '60001'")
        #expect(try parse("ADMIN.PAUSE 300").get() == .pause(seconds: 300))
        #expect(error("ADMIN.PAUSE 301") == "ERR seconds must be an integer in 0…300, got '301'")
        #expect(try parse("ADMIN.SKEW 86400000").get() == .skew(millis: 86_400_000))
        #expect(try parse("ADMIN.SKEW -86400000").get() == .skew(millis: -86_400_000))
        #expect(error("ADMIN.SKEW 86400001").hasPrefix("ERR skew-ms must be signed milliseconds in -86400000…86400000 (±1 day)"))
        #expect(error("ADMIN.SKEW soon").hasSuffix("got 'soon'"))
        #expect(error("ADMIN.PARTITION 32") == "ERR node ID must be an integer in 1…31, got '32'")
        #expect(error("ADMIN.PARTITION 0") == "ERR node ID must be an integer in 1…31, got '0'")
    }

    @Test("bad input says what was wrong and what is accepted")
    func errors() {
        #expect(error("ADMIN.PARTITION") == "ERR wrong number of arguments for 'admin.partition' command: name at least one node ID")
        #expect(error("ADMIN.PARTITION 2 2") == "ERR node IDs must differ, got 2, 2")
        #expect(error("ADMIN.DROP") == "ERR wrong number of arguments for 'admin.drop' command: percent is missing")
        #expect(error("ADMIN.DROP 5 SEED") == "ERR wrong number of arguments for 'admin.drop' command: seed is missing")
        #expect(error("ADMIN.DROP 5 SEED 1 2") == "ERR syntax error: unexpected '2' for 'admin.drop'")
        #expect(error("ADMIN.TRANSFER-LEADER") == "ERR wrong number of arguments for 'admin.transfer-leader' command: node ID is missing")
        #expect(error("ADMIN.TRANSFER-LEADER 2 3") == "ERR syntax error: unexpected '3' for 'admin.transfer-leader'")
        #expect(error("ADMIN.ADD-MEMBER 4 nowhere") == "ERR address 'nowhere' is not host:port (e.g. 127.0.0.1:7101)")
        #expect(error("ADMIN.SNAPSHOT now") == "ERR syntax error: unexpected 'now' for 'admin.snapshot'")
        #expect(error("ADMIN.DISK-FAULT full") == "ERR unknown disk fault 'FULL'; accepted: FSYNC (the next sync fails with EIO)")
        #expect(error("ADMIN.NOPE").hasPrefix("ERR unknown command 'ADMIN.NOPE'; the admin commands are ADMIN.PARTITION, ADMIN.HEAL"))
    }

    @Test("every admin command is in the COMMAND table, and every table entry parses")
    func table() {
        let listed = Set(CommandTable.admin.map { $0.name.uppercased() })
        #expect(listed == Set(AdminCommands.names))
        #expect(CommandTable.all.filter { AdminCommands.handles($0.name.uppercased()) }.count == AdminCommands.names.count)
    }
}
