import ConclaveWire

/// One RESP server (a Redis instance or a Conclave node) on one lazily opened connection, shared
/// by the calls that answer at once. A failed call drops the connection (its outcome is unknown:
/// the caller decides whether to retry) and the next call opens a new one. Scripts are loaded
/// once (`SCRIPT LOAD`) and run by SHA, reloaded if the server forgot them.
final class RESPEndpoint: @unchecked Sendable {
    let address: PeerAddress
    let timeoutMillis: Int
    private let state = Guarded<(client: RESPClient?, scripts: [ObjectIdentifier: String])>((nil, [:]))

    init(_ address: PeerAddress, timeoutMillis: Int) {
        self.address = address
        self.timeoutMillis = timeoutMillis
    }

    /// Sends one command; an error reply is `ClientError.refused`, a broken connection
    /// `ClientError.unreachable`.
    func call(_ arguments: [String]) throws(ClientError) -> RESPValue {
        let reply = try state.with { state throws(ClientError) in try Self.exchange(&state.client, address, timeoutMillis, arguments) }
        if case .error(let message) = reply { throw ClientError.refused(endpoint: "\(address)", message: message) }
        return reply
    }

    /// Runs `script` with `keys` and `arguments` by its SHA (loading it first if this endpoint has
    /// not, or the server forgot it).
    func evaluate(_ script: LuaScript, keys: [String], arguments: [String]) throws(ClientError) -> RESPValue {
        let id = ObjectIdentifier(script)
        return try state.with { state throws(ClientError) in
            for attempt in 0..<2 {
                let sha: String
                if let known = state.scripts[id] {
                    sha = known
                } else {
                    let loaded = try Self.exchange(&state.client, address, timeoutMillis, ["SCRIPT", "LOAD", script.source])
                    guard let text = loaded.text else {
                        throw ClientError.refused(endpoint: "\(address)", message: "SCRIPT LOAD: \(loaded)")
                    }
                    sha = text
                    state.scripts[id] = sha
                }
                let reply = try Self.exchange(&state.client, address, timeoutMillis, ["EVALSHA", sha, "\(keys.count)"] + keys + arguments)
                if case .error(let message) = reply {
                    if message.hasPrefix("NOSCRIPT") && attempt == 0 {
                        state.scripts[id] = nil
                        continue
                    }
                    throw ClientError.refused(endpoint: "\(address)", message: message)
                }
                return reply
            }
            throw ClientError.refused(endpoint: "\(address)", message: "the script was forgotten twice")
        }
    }

    /// Closes the shared connection (the next call opens another).
    func disconnect() { state.with { $0.client = nil } }

    private static func exchange(
        _ client: inout RESPClient?, _ address: PeerAddress, _ timeoutMillis: Int, _ arguments: [String]
    ) throws(ClientError) -> RESPValue {
        do throws(RESPClient.Failure) {
            if client == nil { client = try RESPClient(address, timeoutMillis: timeoutMillis, readBufferBytes: 16 << 10) }
            return try client!.call(arguments)
        } catch {
            client = nil
            throw ClientError.unreachable("\(address): \(error)")
        }
    }

    /// A connection of its own, for a call that waits on the server.
    func dedicatedConnection(timeoutMillis: Int? = nil) throws(ClientError) -> RESPClient {
        do throws(RESPClient.Failure) {
            return try RESPClient(address, timeoutMillis: timeoutMillis ?? self.timeoutMillis, readBufferBytes: 16 << 10)
        } catch {
            throw ClientError.unreachable("\(address): \(error)")
        }
    }
}

/// A Lua script a backend runs on Redis, cached by identity (its SHA is learned once per endpoint).
final class LuaScript: Sendable {
    let source: String
    init(_ source: String) { self.source = source }
}

extension RESPValue {
    /// A bulk or simple string's text.
    var text: String? {
        switch self {
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .simpleString(let text), .verbatim(_, let text): text
        default: nil
        }
    }

    var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: text.flatMap { Int64($0) }
        default: nil
        }
    }

    var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): values
        default: nil
        }
    }
}

/// `host:port` endpoints parsed from `scheme://host:port` URLs (or bare `host:port`), naming the bad one.
public func parseEndpoints(_ urls: [String], scheme: String) throws(ClientError) -> [PeerAddress] {
    guard !urls.isEmpty else { throw ClientError.badArgument("no endpoints: give at least one \(scheme)://host:port") }
    var addresses: [PeerAddress] = []
    for url in urls {
        var authority = Substring(url)
        if let range = url.range(of: "://") {
            guard url[..<range.lowerBound].lowercased() == scheme else {
                throw ClientError.badArgument("'\(url)': accepted: \(scheme)://host:port (TLS is not supported)")
            }
            authority = url[range.upperBound...].prefix { $0 != "/" }
        }
        do throws(ServerInputError) {
            addresses.append(try PeerAddress(parsing: String(authority)))
        } catch {
            throw ClientError.badArgument("'\(url)': \(error)")
        }
    }
    return addresses
}
