import ConclaveWire
import Foundation

/// One RESP server (a Redis instance or a Conclave node) on one lazily opened connection, shared
/// by the calls that answer at once. A failed call drops the connection (its outcome is unknown:
/// the caller decides whether to retry) and the next call opens a new one. Scripts are loaded
/// once (`SCRIPT LOAD`) and run by SHA, reloaded if the server forgot them.
final class RESPEndpoint: @unchecked Sendable {
    let url: EndpointURL
    var address: PeerAddress { url.address }
    let timeoutMillis: Int
    private let state = Guarded<(client: RESPClient?, scripts: [ObjectIdentifier: String])>((nil, [:]))

    init(_ url: EndpointURL, timeoutMillis: Int) {
        self.url = url
        self.timeoutMillis = timeoutMillis
    }

    /// A new connection, authenticated when the URL carried credentials: the shared one, or one
    /// of its own for a call that waits on the server.
    func open(timeoutMillis: Int? = nil) throws(ClientError) -> RESPClient {
        try url.openRESP(timeoutMillis: timeoutMillis ?? self.timeoutMillis)
    }

    /// Sends one command; an error reply is `ClientError.refused`, a broken connection
    /// `ClientError.unreachable`.
    func call(_ arguments: [String]) throws(ClientError) -> RESPValue {
        let reply = try state.with { state throws(ClientError) in try exchange(&state.client, arguments) }
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
                    let loaded = try exchange(&state.client, ["SCRIPT", "LOAD", script.source])
                    guard let text = loaded.text else {
                        throw ClientError.refused(endpoint: "\(address)", message: "SCRIPT LOAD: \(loaded)")
                    }
                    sha = text
                    state.scripts[id] = sha
                }
                let reply = try exchange(&state.client, ["EVALSHA", sha, "\(keys.count)"] + keys + arguments)
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

    private func exchange(_ client: inout RESPClient?, _ arguments: [String]) throws(ClientError) -> RESPValue {
        if client == nil { client = try open() }
        do throws(RESPClient.Failure) {
            return try client!.call(arguments)
        } catch {
            client = nil
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

/// One endpoint URL: the address, and the credentials it carries (`scheme://user:password@host:port`).
public struct EndpointURL: Sendable, Equatable {
    public var scheme: String
    public var address: PeerAddress
    public var user: String?
    public var password: String?

    /// The URL without its credentials, to show.
    public var shown: String { "\(scheme)://\(address)" }

    /// A RESP connection, sending `AUTH [user] password` first when the URL has credentials: a
    /// refused AUTH is `ClientError.refused` (wrong credentials are not worth trying elsewhere), a
    /// failed connect `ClientError.unreachable`.
    public func openRESP(timeoutMillis: Int, readBufferBytes: Int = 16 << 10) throws(ClientError) -> RESPClient {
        let client: RESPClient
        let answer: RESPValue?
        do throws(RESPClient.Failure) {
            client = try RESPClient(address, timeoutMillis: timeoutMillis, readBufferBytes: readBufferBytes)
            if let password { answer = try client.call(["AUTH"] + (user.map { [$0] } ?? []) + [password]) } else { answer = nil }
        } catch {
            throw ClientError.unreachable("\(address): \(error)")
        }
        if case .error(let message)? = answer { throw ClientError.refused(endpoint: "\(address)", message: "AUTH refused: \(message)") }
        return client
    }

    /// An HTTP connection to etcd's gateway carrying an auth token when the URL has credentials:
    /// `token` is used if given, else fetched from `/v3/auth/authenticate` and handed back.
    public func openHTTP(timeoutMillis: Int, token: inout String?) throws(ClientError) -> HTTPConnection {
        let connection: HTTPConnection
        do throws(RESPClient.Failure) {
            connection = try HTTPConnection(address, timeoutMillis: timeoutMillis)
        } catch {
            throw ClientError.unreachable("\(address): \(error)")
        }
        guard let password else { return connection }
        guard let user, !user.isEmpty else { throw ClientError.badArgument("etcd credentials need a user: http://user:password@host:port") }
        if token == nil {
            let answer: (status: Int, body: String)
            do throws(RESPClient.Failure) {
                answer = try connection.post("/v3/auth/authenticate", EtcdGateway.encode(["name": user, "password": password]))
            } catch {
                throw ClientError.unreachable("\(address): \(error)")
            }
            let object = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any]
            guard answer.status == 200, let issued = object?["token"] as? String else {
                let message = (object?["message"] as? String) ?? answer.body
                throw ClientError.refused(endpoint: "\(address)", message: "authentication as '\(user)' failed: \(message.prefix(200))")
            }
            token = issued
        }
        connection.authorization = token
        return connection
    }
}

/// Endpoints parsed from `scheme://[[user]:password@]host:port` URLs (or bare `host:port`), naming
/// the bad one and what is accepted.
public func parseEndpointURLs(_ urls: [String], scheme: String) throws(ClientError) -> [EndpointURL] {
    guard !urls.isEmpty else { throw ClientError.badArgument("no endpoints: give at least one \(scheme)://host:port") }
    var endpoints: [EndpointURL] = []
    for url in urls {
        var authority = Substring(url)
        if let range = url.range(of: "://") {
            guard url[..<range.lowerBound].lowercased() == scheme else {
                throw ClientError.badArgument("'\(url)': accepted: \(scheme)://host:port (TLS is not supported)")
            }
            authority = url[range.upperBound...].prefix { $0 != "/" }
        }
        var user: String?, password: String?
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            guard let colon = userinfo.firstIndex(of: ":") else {
                throw ClientError.badArgument("'\(url)': credentials are accepted as \(scheme)://:password@host:port or \(scheme)://user:password@host:port")
            }
            user = userinfo[..<colon].isEmpty ? nil : String(userinfo[..<colon]).removingPercentEncodingIfAny
            password = String(userinfo[userinfo.index(after: colon)...]).removingPercentEncodingIfAny
            authority = authority[authority.index(after: at)...]
        }
        do throws(ServerInputError) {
            endpoints.append(EndpointURL(scheme: scheme, address: try PeerAddress(parsing: String(authority)), user: user, password: password))
        } catch {
            throw ClientError.badArgument("'\(url)': \(error)")
        }
    }
    return endpoints
}

/// The addresses of `parseEndpointURLs`, for a caller that sends no credentials.
public func parseEndpoints(_ urls: [String], scheme: String) throws(ClientError) -> [PeerAddress] {
    try parseEndpointURLs(urls, scheme: scheme).map(\.address)
}

private extension String {
    var removingPercentEncodingIfAny: String { removingPercentEncoding ?? self }
}
