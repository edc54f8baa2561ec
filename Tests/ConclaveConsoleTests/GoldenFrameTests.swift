import Foundation
import Testing
@testable import ConclaveConsole

/// Every view rendered from a fixed seed at a fixed size, compared with Golden/<name>.txt.
/// Re-record with CONCLAVE_RECORD_GOLDEN=1 and review the diff.
@Suite struct GoldenFrameTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let size = Size(width: 120, height: 40)

    /// A session on seed 7 after 6 s of virtual time, with the keys of `script` pressed at 1 s gaps.
    static func frame(_ script: String, seconds: UInt64 = 6, engine: ConsensusEngine = .raft) throws -> Frame {
        let session = ConsoleSession(cluster: try EmbeddedEngines.make(engine, seed: 7, nodes: 5))
        let captures = HeadlessRun.run(session, items: try HeadlessRun.parse(script), intervalNanos: 1_000_000_000,
                                       runNanos: seconds * 1_000_000_000, size: size)
        return try #require(captures.last).frame
    }

    /// The frame's attributes under the monochrome theme, one letter a cell: B bold, R reverse,
    /// X bold+reverse, U underline, D dim, . plain — so a golden also pins which role each cell plays.
    static func styles(_ frame: Frame) -> String {
        let theme = Theme.builtin("monochrome")!
        return (0..<frame.height).map { row in
            String((0..<frame.width).map { column -> Character in
                let style = theme.style(frame[column, row].role)
                switch (style.bold, style.reverse, style.underline, style.dim) {
                case (true, true, _, _): return "X"
                case (true, _, _, _): return "B"
                case (_, true, _, _): return "R"
                case (_, _, true, _): return "U"
                case (_, _, _, true): return "D"
                default: return "."
                }
            })
        }.joined(separator: "\n")
    }

    static func check(_ name: String, _ frame: Frame) throws {
        try compare(name, frame.text)
    }

    static func compare(_ name: String, _ body: String) throws {
        let url = directory.appendingPathComponent("\(name).txt")
        let text = body + "\n"
        if ProcessInfo.processInfo.environment["CONCLAVE_RECORD_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if expected != text {
            let got = text.split(separator: "\n", omittingEmptySubsequences: false)
            let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
            Issue.record("\(name) differs from Golden/\(name).txt at line \(line + 1):\n got:  \(line < got.count ? got[line] : "")\n want: \(line < want.count ? want[line] : "")")
        }
    }

    @Test("golden frame of each view", arguments: ViewID.allCases)
    func view(_ view: ViewID) throws {
        try Self.check("view-\(view.rawValue)-\(view.title.lowercased().replacingOccurrences(of: "/", with: "-"))", try Self.frame("\(view.rawValue)"))
    }

    @Test("golden frames: a killed leader, help, the palette with an error, a filter, a small terminal")
    func chrome() throws {
        try Self.check("kill-leader", try Self.frame("x 1"))
        try Self.check("help", try Self.frame("?"))
        try Self.check("palette-error", try Self.frame(":kill nine<Enter>"))
        try Self.check("filter-locks", try Self.frame("2 /lock-0<Enter>"))
        let session = ConsoleSession(cluster: try EmbeddedCluster(seed: 7))
        try Self.check("resize-me", session.render(size: Size(width: 60, height: 12)))
    }

    /// Found in README's 120×34 frame: the trend rows were drawn at the box's bottom over the
    /// leader's progress ("commits/s 88m310 n314 +3").
    @Test("at every height the links box shows each follower's progress whole, and the trends only below it")
    func trendsNeverCoverProgress() throws {
        for height in 28...44 {
            let session = ConsoleSession(cluster: try EmbeddedEngines.make(.raft, seed: 7, nodes: 5))
            let captures = HeadlessRun.run(session, items: try HeadlessRun.parse("x 1"), intervalNanos: 1_000_000_000,
                                           runNanos: 4_000_000_000, size: Size(width: 120, height: height))
            let lines = try #require(captures.last).frame.text.split(separator: "\n").map(String.init)
            let progress = lines.filter { $0.contains(": m") && $0.contains(" n") }
            for line in progress {
                #expect(!line.contains("commits/s") && !line.contains("msg/s"), "height \(height): \(line)")
            }
            guard let first = lines.firstIndex(where: { $0.contains("progress ") }) else { continue }
            let trend = lines.firstIndex { $0.contains("commits/s") }
            if let trend { #expect(trend > first + progress.count - 1, "height \(height): the trends start above the progress' end") }
            if height >= 40 { #expect(trend != nil, "height \(height): room for the trends, none drawn") }
        }
    }

    @Test("golden styles: which role each cell plays, under the monochrome theme")
    func styled() throws {
        try Self.compare("kill-leader.styles", Self.styles(try Self.frame("x 1")))
        try Self.compare("view-2-locks.styles", Self.styles(try Self.frame("2")))
    }

    @Test("golden frames of the Paxos engine: the Paxos view, step mode, a Raft-only view refused, both side by side")
    func paxos() throws {
        try Self.check("paxos-view", try Self.frame("1", engine: .paxos))
        // Space pauses; each . delivers one message, the last one marked in the messages pane.
        try Self.check("paxos-step", try Self.frame("<Space> .... ..", engine: .paxos))
        try Self.check("paxos-raft-only", try Self.frame("2", engine: .paxos))
        try Self.check("both-view", try Self.frame(":partition<Space>1,2<Space>|<Space>3,4,5<Enter>", engine: .both))
        try Self.compare("paxos-view.styles", Self.styles(try Self.frame("1", engine: .paxos)))
        #expect(try Self.frame("<Space> ...", engine: .paxos) == Self.frame("<Space> ...", engine: .paxos))
    }

    @Test("the same seed and keys give the same frame")
    func deterministic() throws {
        #expect(try Self.frame("2 x 1", seconds: 5) == Self.frame("2 x 1", seconds: 5))
    }
}
