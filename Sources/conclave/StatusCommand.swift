import ArgumentParser
import ConclaveServer
import ConclaveWire
import Foundation

/// `conclave status --connect A,B,C`: one look at a cluster of node processes, for people and
/// scripts. Exit 0 when a leader is known and every node answered; 1 otherwise; 2 for bad flags.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print each node's role, term, indexes and load, and the leader; exit 1 without a leader or with a node unreachable.",
        discussion: """
            Reads CLUSTER.STATUS from every node named (AUTH first with --token-file's token). \
            Exit status: 0 a leader is known and every node answered; 1 no leader, or a node \
            unreachable (named, with why); 2 bad flags. With --json: one JSON object (leader, term, \
            healthy, nodes: each node's fields, or its address and problem).
            """
    )

    @Option(help: "The nodes' client addresses, comma-separated host:port (e.g. 127.0.0.1:6381,127.0.0.1:6382).")
    var connect: String?
    @Option(help: "An etcd cluster instead: its members' client URLs, comma-separated (http://127.0.0.1:2379,…).")
    var etcd: String?
    @Option(help: "Redis instances instead: comma-separated redis://host:port URLs (one, replicas, or Redlock's independent ones).")
    var redis: String?
    @Option(help: "A file holding the cluster token, sent with AUTH.") var tokenFile: String?
    @Option(help: "Milliseconds to wait for each node (1…60000).") var timeoutMillis = 1_000
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard [connect, etcd, redis].compactMap({ $0 }).count == 1 else {
            throw ValidationError("name one cluster: --connect (Conclave nodes), --etcd or --redis")
        }
        if let etcd { _ = try EngineStatus.endpoints(etcd, scheme: "http", flag: "--etcd") }
        if let redis { _ = try EngineStatus.endpoints(redis, scheme: "redis", flag: "--redis") }
        if connect != nil { _ = try addresses() }
        guard (1...60_000).contains(timeoutMillis) else {
            throw ValidationError("--timeout-millis must be in 1…60000, got \(timeoutMillis)")
        }
    }

    func addresses() throws -> [PeerAddress] { try connectAddresses(connect ?? "") }

    func run() throws {
        if etcd != nil || redis != nil {
            let summary = etcd != nil
                ? EngineStatus.etcd(try EngineStatus.endpoints(etcd!, scheme: "http", flag: "--etcd"), timeoutMillis: timeoutMillis)
                : EngineStatus.redis(try EngineStatus.endpoints(redis!, scheme: "redis", flag: "--redis"), timeoutMillis: timeoutMillis)
            print(json ? EngineStatus.json(summary) : EngineStatus.table(summary))
            if !summary.healthy { throw ExitCode(1) }
            return
        }
        let token = try tokenFile.map(readTokenOption)
        let summary = ClusterProbe.look(at: try addresses(), token: token, timeoutMillis: timeoutMillis)
        print(json ? Self.json(summary) : Self.table(summary))
        if !summary.healthy { throw ExitCode(1) }
    }

    static let columns = ["node", "role", "term", "commit_index", "applied_index", "last_index", "snapshot_index",
                          "sessions", "locks_held", "lock_waiters", "tasks", "keys", "wal_fsync_p99_us"]

    static func table(_ summary: ClusterProbe.Summary) -> String {
        let reachable = summary.nodes.count - summary.unreachable.count
        var lines = [
            (summary.leader == 0 ? "no leader" : "leader: node \(summary.leader), term \(summary.term)")
                + " — \(reachable)/\(summary.nodes.count) nodes answered",
        ]
        let headers = ["address"] + columns
        var rows: [[String]] = []
        for node in summary.nodes {
            guard node.reachable else {
                rows.append(["\(node.address)", "unreachable: \(node.problem ?? "no answer")"])
                continue
            }
            rows.append(["\(node.address)"] + columns.map { name in
                node.integer(name).map(String.init) ?? node.text(name) ?? "-"
            })
        }
        lines += alignedLines(headers: headers, rows: rows)
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: ClusterProbe.Summary) -> String {
        let nodes: [[String: Any]] = summary.nodes.map { node in
            var object: [String: Any] = ["address": "\(node.address)", "reachable": node.reachable]
            if let problem = node.problem { object["problem"] = problem }
            for (name, field) in node.fields ?? [:] {
                switch field {
                case .integer(let value): object[name] = value
                case .text(let value): object[name] = value
                }
            }
            return object
        }
        let object: [String: Any] = ["leader": summary.leader, "term": summary.term, "healthy": summary.healthy, "nodes": nodes]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A status table's lines: columns padded to their widest full row, two spaces apart; the last
/// cell of a row is not padded, and a short row (an endpoint that did not answer, with why) runs
/// on without the columns after it.
func alignedLines(headers: [String], rows: [[String]]) -> [String] {
    var widths = headers.map(\.count)
    for row in rows where row.count == headers.count {
        for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            column + 1 == cells.count || column >= widths.count ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    return [line(headers)] + rows.map(line)
}

/// `--connect A,B,C`: 1…31 comma-separated host:port addresses.
func connectAddresses(_ text: String) throws -> [PeerAddress] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !parts.isEmpty, parts.count <= 31 else {
        throw ValidationError("--connect '\(text)': accepted: 1…31 comma-separated host:port addresses")
    }
    return try parts.map { (part) throws -> PeerAddress in
        do throws(ServerInputError) { return try PeerAddress(parsing: part) } catch { throw ValidationError("--connect: \(error)") }
    }
}

/// `--token-file F` for a client command: the token, or a validation error naming the file.
func readTokenOption(_ path: String) throws -> String {
    do throws(ServerInputError) { return try readTokenFile(path) } catch { throw ValidationError(error.description) }
}
