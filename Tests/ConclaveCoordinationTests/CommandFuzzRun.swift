import ConclaveCore
import Foundation
@testable import ConclaveCoordination

/// One seed's fuzzing: entries from `CommandFuzzer` applied to three replicas through
/// `apply(index:data:)` (and `skip(index:)` for membership entries), as `NodeCore` applies
/// committed entries. After every entry the replicas must have answered alike and hold the same
/// digest; every refusal must say what was wrong. At checkpoints (every 2,000–10,000 entries) their
/// whole states must be equal, the digest kept up to date must equal one rebuilt from the state,
/// and one replica is replaced by a replica restored from its own snapshot — so that a restored
/// replica keeps applying next to ones that never restarted.
struct CommandFuzzRun {
    /// What one replica answers to one entry, as `CoordinationStateMachine.apply` returns it.
    typealias Answer = (kv: KVStateMachine.Applied?, coordination: CoordinationStateMachine.Applied?)

    let seed: UInt64
    let entries: Int
    var fuzzer: CommandFuzzer
    private(set) var replicas = Array(repeating: CoordinationStateMachine(), count: 3)
    /// Entries run so far.
    private(set) var made = 0
    private var index: LogIndex = 0
    /// Checkpoint spacing and snapshot cuts come from their own stream, so that changing them
    /// leaves the entries of a seed as they are.
    private var checkpoints: SeededGenerator
    private var nextCheckpoint = 0
    private var restores = 0
    /// What the run reached: answer kinds, refusal kinds, events (see `CommandFuzzRun+Outcomes`).
    var reached: Set<String> = []
    /// KV keys a clock entry purged because their TTL ran out, and not written since: a read of
    /// one that finds nothing is a TTL-expired read (see `CommandFuzzRun+KV`).
    var expiredKeys: Set<String> = []
    /// With `CONCLAVE_FUZZ_TRACE=1`, each entry is written to standard error before it applies:
    /// the last line before a trap names the entry that trapped.
    private let trace = ProcessInfo.processInfo.environment["CONCLAVE_FUZZ_TRACE"] == "1"

    init(seed: UInt64, entries: Int) {
        self.seed = seed
        self.entries = entries
        fuzzer = CommandFuzzer(seed: seed, entries: entries)
        checkpoints = SeededGenerator(seed: seed, stream: 1)
        nextCheckpoint = scheduleCheckpoint(after: 0)
    }

    /// How to run this seed again, alone (a failure names the entry; a trap needs the trace).
    var replay: String {
        "replay: CONCLAVE_FUZZ_SEED=\(seed) CONCLAVE_FUZZ_ENTRIES=\(entries) swift test --filter CommandFuzzerTests "
            + "(add CONCLAVE_FUZZ_TRACE=1 to print every entry before it applies)"
    }

    /// Runs every entry; returns the first failure, described, or nil.
    mutating func run() -> String? { run(through: entries) }

    /// Runs the entries after those already run, through entry `last` (at most `entries`), so
    /// that a caller may stop between entries to look at the replicas; returns the first failure.
    mutating func run(through last: Int) -> String? {
        while made < min(last, entries) {
            made += 1
            let number = made
            fuzzer.nowMillis = replicas[0].nowMillis
            let entry = fuzzer.next()
            if trace { FileHandle.standardError.write(Data("seed \(seed) entry \(number): \(entry)\n".utf8)) }
            if let problem = apply(entry) {
                return "seed \(seed), entry \(number) (log index \(index)): \(problem)\n  entry: \(entry)\n  \(replay)"
            }
            if number == nextCheckpoint || number == entries, let problem = checkpoint() {
                return "seed \(seed), checkpoint after entry \(number) (log index \(index)): \(problem)\n  last entry: \(entry)\n  \(replay)"
            }
        }
        return nil
    }

    private mutating func scheduleCheckpoint(after number: Int) -> Int {
        number + 2_000 + Int(checkpoints.next() % 8_000)
    }

    // MARK: - One entry

    private mutating func apply(_ entry: FuzzEntry) -> String? {
        index += 1
        let data = entry.data
        let nowBefore = replicas[0].nowMillis
        let expiriesBefore = replicas[0].kv.expiries
        var answers: [Answer] = []
        for position in replicas.indices {
            if case .membership = entry {
                replicas[position].skip(index: index)
                answers.append((nil, nil))
            } else {
                answers.append(replicas[position].apply(index: index, data: data))
            }
        }
        for position in 1..<replicas.count {
            if let difference = Self.difference(answers[0], answers[position]) {
                return "replica \(position) answered otherwise than replica 0: \(difference)"
            }
            guard replicas[position].combinedDigest == replicas[0].combinedDigest else {
                return "replica \(position)'s digest differs from replica 0's though they answered alike"
            }
        }
        guard replicas[0].appliedIndex == index else { return "applied index \(replicas[0].appliedIndex), not \(index)" }
        guard replicas[0].nowMillis <= CoordinationLimits.clusterTimeMillisMax else {
            return "cluster time \(replicas[0].nowMillis) ms is past its end"
        }
        note(answers[0])
        if case .kv(let request) = entry { noteExpiredRead(request, answers[0].kv) }
        if case .request(let request) = entry, case .elapsed = request.command { noteExpired(before: expiriesBefore) }
        fuzzer.observe(entry, answers[0].coordination)
        if let problem = Self.unclearRefusal(answers[0]) { return problem }
        return check(entry, data: data, answer: answers[0], nowBefore: nowBefore)
    }

    /// What an entry must have done, by what it was made as.
    private func check(_ entry: FuzzEntry, data: [UInt8], answer: Answer, nowBefore: UInt64) -> String? {
        switch entry {
        case .request(let request):
            guard CoordinationRequest(decoding: data) == request else { return "the request does not decode to itself" }
            guard let result = answer.coordination?.result else { return "a coordination request got no answer" }
            return Self.checkNodeRules(request, result, nowBefore: nowBefore, nowAfter: replicas[0].nowMillis)
        case .truncated:
            // Every encoding is self-delimiting, so no strict prefix of one is a whole request.
            guard CoordinationRequest(decoding: data) == nil else { return "a cut encoding decoded" }
        case .kv(let request):
            return checkKV(request, data: data, answer: answer.kv)
        case .corrupted, .garbage, .empty, .membership:
            break
        }
        return nil
    }

    /// Client 0 runs only the nodes' commands, and nobody else runs them; a clock entry moves
    /// cluster time by exactly its length or (past the end) not at all.
    static func checkNodeRules(_ request: CoordinationRequest, _ result: CoordinationResult, nowBefore: UInt64, nowAfter: UInt64) -> String? {
        let moved = nowAfter != nowBefore
        if request.client == 0 && !request.command.isNodeCommand {
            return result == .refused(.reservedClient) && !moved ? nil : "client 0 ran a client's command: \(result)"
        }
        if request.client != 0 && request.command.isNodeCommand {
            guard case .refused = result, !moved else { return "client \(request.client) ran a node-only command: \(result)" }
            return nil
        }
        if case .elapsed(let millis) = request.command {
            let expected = result == .done ? nowBefore + millis : nowBefore
            guard nowAfter == expected else { return "a clock entry of \(millis) ms moved cluster time from \(nowBefore) to \(nowAfter) (\(result))" }
        } else if moved {
            return "cluster time moved from \(nowBefore) to \(nowAfter) on an entry that is not a clock entry"
        }
        return nil
    }

    /// Two replicas' answers to one entry, compared; a refusal restored from a snapshot is the
    /// same answer as the one it was kept from when their encodings are (what a client receives).
    static func difference(_ first: Answer, _ second: Answer) -> String? {
        guard first.kv == second.kv else { return "KV \(brief(first.kv)) against \(brief(second.kv))" }
        switch (first.coordination, second.coordination) {
        case (nil, nil):
            return nil
        case (let one?, let other?):
            guard one.client == other.client, one.sequence == other.sequence, one.events == other.events,
                  one.tasksTouched == other.tasksTouched,
                  one.result == other.result || Self.encoded(one.result) == Self.encoded(other.result) else {
                return "\(brief(one)) against \(brief(other))"
            }
            return nil
        default:
            return "\(brief(first.coordination)) against \(brief(second.coordination))"
        }
    }

    /// A value as text, cut to 600 characters (answers may carry 4 KiB payloads).
    static func brief(_ value: Any?) -> String {
        let text = value.map { "\($0)" } ?? "nothing"
        return text.count <= 600 ? text : String(text.prefix(600)) + "… (\(text.count) characters)"
    }

    static func encoded(_ result: CoordinationResult) -> [UInt8] {
        var writer = ByteWriter(capacity: 24)
        writer.write(result)
        return writer.bytes
    }

    // MARK: - Checkpoints

    /// Whole states equal, digest upkeep right, and a snapshot that restores to the same state
    /// and the same bytes (a cut one must be refused); the restored replica takes the place of
    /// the one it was taken from, in turn.
    private mutating func checkpoint() -> String? {
        nextCheckpoint = scheduleCheckpoint(after: nextCheckpoint)
        for position in 1..<replicas.count where replicas[position] != replicas[0] {
            return "replica \(position)'s state differs from replica 0's, though every answer and digest agreed"
        }
        guard replicas[0].stateDigest == replicas[0].recomputedStateDigest() else {
            return "the state digest kept up to date differs from one rebuilt from the state"
        }
        let source = restores % replicas.count
        restores += 1
        let snapshot = replicas[source].snapshotData()
        let restored: CoordinationStateMachine
        do {
            restored = try CoordinationStateMachine(restoring: snapshot)
        } catch {
            return "replica \(source)'s snapshot (\(snapshot.count) bytes) does not restore: \(error)"
        }
        guard restored == replicas[source], restored.combinedDigest == replicas[source].combinedDigest else {
            return "replica \(source) restored from its snapshot is not the replica it was taken from"
        }
        guard restored.snapshotData() == snapshot else { return "a restored replica's snapshot has other bytes than the one it came from" }
        let cut = Int(checkpoints.next() % UInt64(snapshot.count))
        if (try? CoordinationStateMachine(restoring: Array(snapshot.prefix(cut)))) != nil {
            return "a snapshot cut to \(cut) of its \(snapshot.count) bytes restored"
        }
        replicas[source] = restored
        return nil
    }
}
