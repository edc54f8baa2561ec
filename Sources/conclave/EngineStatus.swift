import ArgumentParser
import ConclaveClient
import ConclaveConsole
import ConclaveWire
import Foundation

/// `conclave status --etcd URL,…` and `--redis URL,…`: one look at an existing engine, as
/// `--connect` gives of Conclave's own nodes. Each endpoint answers or is named unreachable with
/// why; healthy means every endpoint answered and (etcd) they agree on one leader.
enum EngineStatus {
    struct Endpoint {
        var url: String
        var fields: [(String, String)] = []
        var problem: String?
    }

    struct Summary {
        var engine: String
        var endpoints: [Endpoint]
        var leader: String?
        var healthy: Bool
    }

    /// `http://host:port` (etcd) or `redis://host:port` (Redis), comma-separated, 1…31 of them,
    /// each optionally with `user:password@` (etcd auth, Redis AUTH). `url` is the URL as given
    /// (for the client API), `endpoint` the parsed one (its `shown` form has no credentials).
    static func endpoints(_ text: String, scheme: String, flag: String) throws -> [(url: String, endpoint: EndpointURL)] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty, parts.count <= 31 else {
            throw ValidationError("\(flag) '\(text.prefix(200))': accepted: 1…31 comma-separated \(scheme)://host:port URLs")
        }
        return try parts.map { part in
            guard part.lowercased().hasPrefix(scheme + "://") else {
                throw ValidationError("\(flag) '\(part.prefix(200))': accepted: \(scheme)://host:port (plain \(scheme)://; TLS is not supported)")
            }
            do throws(ClientError) {
                return (part, try parseEndpointURLs([part], scheme: scheme)[0])
            } catch {
                throw ValidationError("\(flag): \(error)")
            }
        }
    }

    /// Every etcd member's view (maintenance status): its ID, the leader it names, Raft term and
    /// index, database size, version.
    static func etcd(_ endpoints: [(url: String, endpoint: EndpointURL)], timeoutMillis: Int) -> Summary {
        var leaders: Set<String> = []
        let probed = endpoints.map { endpoint -> Endpoint in
            var probe = Endpoint(url: endpoint.endpoint.shown)
            do {
                var token: String?
                let client = try endpoint.endpoint.openHTTP(timeoutMillis: timeoutMillis, token: &token)
                let answer = try client.post("/v3/maintenance/status", "{}")
                guard answer.status == 200 else {
                    probe.problem = "HTTP \(answer.status) from /v3/maintenance/status: \(answer.body.prefix(120))"
                    return probe
                }
                // The console's parse of the same answer (`conclave console --etcd` polls it too).
                let status = try EtcdReport.status(answer.body)
                if status.leader != 0 { leaders.insert("\(status.leader)") }
                probe.fields = [("member", "\(status.memberID)"), ("role", status.memberID == status.leader ? "leader" : "follower"),
                                ("leader", "\(status.leader)"), ("raft_term", "\(status.raftTerm)"), ("raft_index", "\(status.raftIndex)"),
                                ("db_size", "\(status.dbSize)"), ("version", status.version)]
                if !status.errors.isEmpty { probe.fields.append(("errors", "\(status.errors)")) }
            } catch {
                probe.problem = problem(error, at: endpoint.endpoint)
            }
            return probe
        }
        let healthy = probed.allSatisfy { $0.problem == nil } && leaders.count == 1
        return Summary(engine: "etcd", endpoints: probed, leader: leaders.count == 1 ? leaders.first : nil, healthy: healthy)
    }

    /// Every Redis instance's replication role, memory and version (INFO); for independent
    /// instances (Redlock's) each answers on its own.
    static func redis(_ endpoints: [(url: String, endpoint: EndpointURL)], timeoutMillis: Int) -> Summary {
        let probed = endpoints.map { endpoint -> Endpoint in
            var probe = Endpoint(url: endpoint.endpoint.shown)
            do {
                let client = try endpoint.endpoint.openRESP(timeoutMillis: timeoutMillis)
                var info: [String: String] = [:]
                for section in ["server", "replication", "memory", "keyspace"] {
                    info.merge(try client.info(section)) { _, new in new }
                }
                let keys = info["db0"].map { String($0.split(separator: ",").first ?? "") } ?? "keys=0"
                probe.fields = [("role", info["role"] ?? "?"), ("connected_slaves", info["connected_slaves"] ?? "0"),
                                ("used_memory", info["used_memory_human"] ?? "?"), ("keys", keys.replacingOccurrences(of: "keys=", with: "")),
                                ("version", info["redis_version"] ?? "?")]
            } catch {
                probe.problem = problem(error, at: endpoint.endpoint)
            }
            return probe
        }
        return Summary(engine: "redis", endpoints: probed, leader: nil, healthy: probed.allSatisfy { $0.problem == nil })
    }

    /// What went wrong with one endpoint, without repeating its address.
    static func problem(_ error: any Error, at endpoint: EndpointURL) -> String {
        guard case ClientError.unreachable(let why)? = error as? ClientError else { return "\(error)" }
        let prefix = "\(endpoint.address): "
        return why.hasPrefix(prefix) ? String(why.dropFirst(prefix.count)) : why
    }

    static func table(_ summary: Summary) -> String {
        let answered = summary.endpoints.filter { $0.problem == nil }.count
        var lines = ["\(summary.engine): " + (summary.engine == "etcd" ? (summary.leader.map { "leader \($0)" } ?? "no agreed leader") + " — " : "")
            + "\(answered)/\(summary.endpoints.count) endpoints answered"]
        let names = summary.endpoints.first { $0.problem == nil }?.fields.map(\.0) ?? []
        let headers = ["endpoint"] + names
        let rows = summary.endpoints.map { endpoint in
            endpoint.problem.map { [endpoint.url, "unreachable: \($0)"] } ?? [endpoint.url] + endpoint.fields.map(\.1)
        }
        lines += alignedLines(headers: headers, rows: rows)
        return lines.joined(separator: "\n")
    }

    static func json(_ summary: Summary) -> String {
        let endpoints: [[String: Any]] = summary.endpoints.map { endpoint in
            var object: [String: Any] = ["url": endpoint.url, "reachable": endpoint.problem == nil]
            if let problem = endpoint.problem { object["problem"] = problem }
            for (name, value) in endpoint.fields { object[name] = value }
            return object
        }
        var object: [String: Any] = ["engine": summary.engine, "healthy": summary.healthy, "endpoints": endpoints]
        if let leader = summary.leader { object["leader"] = leader }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
