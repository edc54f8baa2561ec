/// A demo, read from a text file so users can write their own (demos/*.demo):
///
/// ```
/// # comment
/// title Split brain: a minority leader cannot commit
/// seed 4
/// engine paxos                           raft (the default), paxos, or both side by side
/// view 1
/// say The cluster elects a leader.      narration: one line added to the pane
/// run 2s                                 let virtual time pass
/// do partition leader,1 | 2,3,4          a palette command (anything ':' accepts)
/// keys 2                                 keys, as --keys writes them
/// pause Press Space to heal.             a pause point: live, waits for Space; headless, captures a frame
/// expect node 3 leads                    the screen must show this text (demos check themselves)
/// clear                                  empty the narration pane
/// lab channel,async 64 500ms             measure in-process locks on real threads (the Local view):
///                                        strategies, threads 1…64, how long each runs (≤ 10 s)
/// ```
public struct DemoScript: Equatable, Sendable {
    public enum Step: Equatable, Sendable {
        case say(String)
        case clear
        case run(millis: UInt64)
        case command(String)
        case keys([HeadlessRun.Item])
        case view(ViewID)
        case pause(String)
        case expect(String)
        /// Measure these lock strategies inside the process, one after the other (the host runs them).
        case lab(strategies: [String], threads: Int, millis: UInt64)
    }

    public var name: String
    public var title = ""
    public var seed: UInt64 = 1
    public var nodes = 5
    public var engine = ConsensusEngine.raft
    public var steps: [(line: Int, step: Step)] = []

    public static let stepsMax = 1_000
    public static let runMillisMax: UInt64 = 600_000
    public static let labMillisMax: UInt64 = 10_000

    public static func == (left: Self, right: Self) -> Bool {
        left.name == right.name && left.title == right.title && left.seed == right.seed && left.nodes == right.nodes && left.engine == right.engine
            && left.steps.map(\.line) == right.steps.map(\.line) && left.steps.map(\.step) == right.steps.map(\.step)
    }

    public static let accepted = "title, seed, nodes, engine, say, clear, run DURATION, do COMMAND, keys KEYS, view 1…9, pause [TEXT], expect TEXT, lab STRATEGIES THREADS DURATION"

    /// Parses a demo file; errors name the file, the line and what is accepted.
    public static func parse(_ text: String, name: String, file: String) throws(DemoError) -> DemoScript {
        var script = DemoScript(name: name)
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = String(raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            let word = String(line.prefix { $0 != " " })
            let rest = String(line.dropFirst(word.count)).trimmingSpaces
            func fail(_ reason: String) -> DemoError { DemoError(file: file, line: number, reason: reason) }
            func need(_ what: String) throws(DemoError) {
                if rest.isEmpty { throw fail("'\(word)' needs \(what)") }
            }
            switch word.lowercased() {
            case "title": try need("a title"); script.title = rest
            case "seed":
                guard let seed = UInt64(rest) else { throw fail("seed must be a whole number, got '\(rest)'") }
                script.seed = seed
            case "nodes":
                guard let nodes = Int(rest), (3...9).contains(nodes) else { throw fail("nodes must be 3…9, got '\(rest)'") }
                script.nodes = nodes
            case "engine":
                guard let engine = ConsensusEngine.embedded(rest) else { throw fail("engine must be one of \(ConsensusEngine.accepted), got '\(rest)'") }
                script.engine = engine
            case "say": script.steps.append((number, .say(rest)))
            case "clear": script.steps.append((number, .clear))
            case "run":
                guard let millis = try? PaletteParser.duration(rest, usage: ""), millis <= runMillisMax else {
                    throw fail("run needs a duration like 500ms or 3s (at most 10m), got '\(rest)'")
                }
                script.steps.append((number, .run(millis: millis)))
            case "do":
                try need("a palette command")
                do { _ = try PaletteParser.parse(rest) } catch { throw fail("do \(rest): \(error.message)") }
                script.steps.append((number, .command(rest)))
            case "keys":
                try need("keys")
                do throws(KeyParseError) { script.steps.append((number, .keys(try HeadlessRun.parse(rest)))) } catch { throw fail(error.description) }
            case "view":
                guard let viewNumber = Int(rest), let view = ViewID(rawValue: viewNumber) else { throw fail("view must be 1…\(ViewID.allCases.count), got '\(rest)'") }
                script.steps.append((number, .view(view)))
            case "pause": script.steps.append((number, .pause(rest.isEmpty ? "Space continues" : rest)))
            case "expect": try need("text to look for"); script.steps.append((number, .expect(rest)))
            case "lab":
                let words = rest.split(separator: " ").map(String.init)
                guard words.count == 3, let threads = Int(words[1]), (1...64).contains(threads),
                      let millis = try? PaletteParser.duration(words[2], usage: ""), (10...labMillisMax).contains(millis) else {
                    throw fail("lab needs STRATEGIES THREADS DURATION, e.g. 'lab channel,async 64 500ms' (threads 1…64, 10ms…10s), got '\(rest)'")
                }
                script.steps.append((number, .lab(strategies: words[0].split(separator: ",").map(String.init), threads: threads, millis: millis)))
            default: throw fail("unknown step '\(word)'; accepted: \(accepted)")
            }
            guard script.steps.count <= stepsMax else { throw fail("a demo has at most \(stepsMax) steps") }
        }
        if script.title.isEmpty { script.title = name }
        return script
    }
}

public struct DemoError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file):\(line): \(reason)" }
}
