import ConclaveCore
import Foundation
import Testing
@testable import ConclaveCoordination

/// A seeded command fuzzer (issue 11): random and extreme commands applied to every replica
/// through the log — no trap, identical state, every refusal a clear error. Eight seeds of 125,000
/// entries (1,000,000 in all) by default; see `CommandFuzzer` for what is made and
/// `CommandFuzzRun` for what is checked.
///
/// Replay one seed alone: `CONCLAVE_FUZZ_SEED=5 swift test --filter CommandFuzzerTests`; set
/// `CONCLAVE_FUZZ_ENTRIES` for another length (the entries of a seed do not depend on it, except
/// for where cluster time jumps to its end), and `CONCLAVE_FUZZ_TRACE=1` to print each entry
/// before it applies (a trap ends the process: the last line names the entry).
@Suite struct CommandFuzzerTests {
    static let defaultEntries = 125_000
    static let environment = ProcessInfo.processInfo.environment
    static let seeds: [UInt64] = environment["CONCLAVE_FUZZ_SEED"].flatMap(UInt64.init).map { [$0] } ?? Array(1...8)
    static let entries = environment["CONCLAVE_FUZZ_ENTRIES"].flatMap(Int.init).map { max(1, $0) } ?? defaultEntries

    @Test("random and extreme commands through the log: no trap, replicas alike, every refusal clear", arguments: seeds)
    func fuzz(seed: UInt64) {
        var run = CommandFuzzRun(seed: seed, entries: Self.entries)
        if let failure = run.run() {
            Issue.record(Comment(rawValue: failure))
            return
        }
        guard Self.entries >= Self.defaultEntries else { return }
        let missing = CommandFuzzRun.expectedOutcomes.subtracting(run.reached)
        #expect(missing.isEmpty, "seed \(seed) never reached \(missing.sorted()); \(run.replay)")
    }

    @Test("no cut of an encoding decodes; every one-byte corruption applies alike on two replicas, refusals clear")
    func damagedEntries() {
        let request = CoordinationRequest(client: 4, sequence: 1, command: .acquire(lock: "m0", kind: .mutex, mode: .exclusive,
                                                                                  waitMillis: 10, ttlMillis: nil, lockDelayMillis: 0))
        let bytes = request.encoded()
        var replicas = Array(repeating: CoordinationStateMachine(), count: 2)
        var index: LogIndex = 0
        for length in 0..<bytes.count {
            #expect(CoordinationRequest(decoding: Array(bytes.prefix(length))) == nil, "cut to \(length) bytes")
        }
        for position in bytes.indices {
            for byte: UInt8 in [0, 1, 2, 0x7F, 0x80, 0xFF] {
                var corrupted = bytes
                corrupted[position] = byte
                index += 1
                let answers = replicas.indices.map { replicas[$0].apply(index: index, data: corrupted) }
                #expect(CommandFuzzRun.difference(answers[0], answers[1]) == nil, "byte \(position) set to \(byte)")
                #expect(CommandFuzzRun.unclearRefusal(answers[0]) == nil, "byte \(position) set to \(byte)")
            }
        }
        #expect(replicas[0] == replicas[1])
    }
}
