import ArgumentParser
import ConclaveStorage
import Foundation

/// `conclave wal …`: tools for a node's write-ahead log.
struct WALCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Write-ahead log tools.",
        subcommands: [WALInspectCommand.self]
    )
}

/// `conclave wal inspect DIR [--verify] [--json] [--records]`: what a data directory holds, read
/// without changing anything (etcd-dump-logs' habit).
struct WALInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Segments, records, terms, index ranges, hard state and snapshots of a data directory.",
        discussion: """
            Reads the directory through the same checks recovery uses, changing nothing. A torn tail \
            (an unfinished last write, which recovery truncates) is reported, not counted as damage.
            Exit status: 0 read (and, with --verify, every CRC good); 1 with --verify when a record, \
            header or snapshot file is damaged — the first bad file and byte offset are named; 2 when \
            the directory cannot be read.
            """
    )

    @Argument(help: "The data directory (holding wal/ and snap/), or a WAL directory.")
    var directory: String

    @Flag(help: "Also read every snapshot chunk, check every CRC, and exit 1 at the first damage.")
    var verify = false

    @Flag(help: "List every record with its offset.")
    var records = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let inspection: WALInspection
        do {
            inspection = try WALInspector.inspect(directory, verify: verify, listRecords: records)
        } catch {
            FileHandle.standardError.write(Data("error: cannot read \(directory): \(error)\n".utf8))
            throw ExitCode(2)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(inspection), as: UTF8.self))
        } else {
            for line in WALInspectionText.lines(inspection) { print(line) }
        }
        if verify, let problem = inspection.problem {
            FileHandle.standardError.write(Data("verify failed: corrupt: \(problem)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The text form of an inspection: a table of segments, then the state a restart would see.
enum WALInspectionText {
    static func lines(_ inspection: WALInspection) -> [String] {
        var lines: [String] = []
        let owner = inspection.clusterID.map { cluster in "cluster \(cluster), node \(inspection.nodeID ?? 0)" } ?? "no segments"
        lines.append("data directory \(inspection.directory) (\(owner))")
        lines += table(["segment", "bytes", "data", "records", "entries", "index", "terms", "end"], inspection.segments.map { segment in
            [name(segment.file), String(segment.fileBytes), String(segment.dataBytes), String(segment.records), String(segment.entries),
             range(segment.firstIndex, segment.lastIndex), segment.terms.map(String.init).joined(separator: ","), segment.end]
        })
        if let records = inspection.records {
            lines.append("records")
            lines += table(["segment", "offset", "type", "bytes", "content"], records.map { record in
                [name(record.file), String(record.offset), record.type, String(record.payloadBytes), content(record)]
            }).map { "  " + $0 }
        }
        if let hard = inspection.hardState {
            lines.append("hard state    term \(hard.term), vote \(hard.vote), commit \(hard.commit)")
        }
        if let snapshot = inspection.snapshot {
            lines.append("snapshot      \(describe(snapshot))")
        }
        if let first = inspection.firstIndex, let last = inspection.lastIndex {
            lines.append(last >= first ? "log           entries \(first)…\(last) (\(last - first + 1))" : "log           no entries after the snapshot")
        }
        for file in inspection.snapshots {
            var facts = ["index \(file.index)", "term \(file.term)", "\(file.fileBytes) bytes"]
            if file.current { facts.append("current") }
            if let data = file.dataBytes, file.verified { facts.append("verified (\(data) data bytes)") }
            lines.append("snapshot file \(name(file.file))  " + facts.joined(separator: ", "))
        }
        if let torn = inspection.tornTail {
            lines.append("torn tail     \(torn) (recovery truncates it)")
        }
        if let problem = inspection.problem {
            lines.append("CORRUPT       \(problem)")
        } else if inspection.verified {
            lines.append("verified      every record, header and snapshot CRC checked")
        }
        return lines
    }

    private static func name(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func range(_ first: UInt64?, _ last: UInt64?) -> String {
        guard let first, let last else { return "-" }
        return first == last ? String(first) : "\(first)…\(last)"
    }

    private static func describe(_ snapshot: WALInspection.SnapshotSummary) -> String {
        let members = { (ids: [UInt64]) in ids.isEmpty ? "none" : ids.map(String.init).joined(separator: " ") }
        return "index \(snapshot.index), term \(snapshot.term), voters \(members(snapshot.voters)), learners \(members(snapshot.learners))"
            + (snapshot.replacesLog ? ", installed from the leader" : "")
    }

    private static func content(_ record: WALInspection.Record) -> String {
        if let hard = record.hardState { return "term \(hard.term), vote \(hard.vote), commit \(hard.commit)" }
        if let snapshot = record.snapshot { return describe(snapshot) }
        if let next = record.nextSequence { return "next segment \(next)" }
        let terms = (record.terms ?? []).map(String.init).joined(separator: ",")
        return "entries \(range(record.firstIndex, record.lastIndex)), term \(terms)"
    }

    /// Left-aligned text columns, right-aligned numbers, two spaces apart.
    private static func table(_ headers: [String], _ rows: [[String]]) -> [String] {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return cell.allSatisfy(\.isNumber) && !cell.isEmpty ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return [line(headers)] + rows.map(line)
    }
}
