import ConclaveWire
import Foundation

/// etcd v3 through its JSON gateway (`POST /v3/...`, part of etcd itself since 3.3): the same
/// requests and semantics as gRPC, without a gRPC stack in the build. Byte fields are base64 and
/// 64-bit integers are strings, as the gateway writes them. A call tries each endpoint in turn
/// until one answers; streams (watch) get a connection of their own. With credentials in a URL
/// (`http://user:password@host:port`), the gateway authenticates (`/v3/auth/authenticate`) and
/// sends the token with every request, authenticating again when etcd says it expired.
final class EtcdGateway: @unchecked Sendable {
    let endpoints: [EndpointURL]
    var addresses: [PeerAddress] { endpoints.map(\.address) }
    let timeoutMillis: Int
    private var credentials: String? { endpoints.lazy.compactMap(\.password).first }
    private let state = Guarded<(connection: HTTPConnection?, current: Int, token: String?)>((nil, 0, nil))

    init(_ urls: [String], timeoutMillis: Int) throws(ClientError) {
        endpoints = try parseEndpointURLs(urls, scheme: "http")
        if endpoints.contains(where: { $0.password != nil && ($0.user ?? "").isEmpty }) {
            throw ClientError.badArgument("etcd credentials need a user: http://user:password@host:port")
        }
        self.timeoutMillis = timeoutMillis
    }

    /// A new connection to endpoint `index`, carrying the auth token (fetched first if there is none yet).
    private func connect(_ index: Int, timeoutMillis: Int, token: inout String?) throws(ClientError) -> HTTPConnection {
        try endpoints[index].openHTTP(timeoutMillis: timeoutMillis, token: &token)
    }

    var endpointNames: String { addresses.map { "\($0)" }.joined(separator: ",") }

    /// POSTs `body` to `path` on the first endpoint that answers; the answer's JSON object. A
    /// gRPC error in the answer is `ClientError.refused` with etcd's message.
    ///
    /// A request whose connection broke after it was sent may have taken effect: it is sent again
    /// on the next endpoint only when `idempotent` (a read, a keep-alive); otherwise the error says
    /// the outcome is unknown.
    func call(_ path: String, _ body: [String: Any], idempotent: Bool = true) throws(ClientError) -> [String: Any] {
        let text = Self.encode(body)
        var reasons: [String] = []
        var reauthenticated = false
        var attempt = 0
        while attempt < addresses.count {
            attempt += 1
            let answer: (status: Int, body: String)?? = try state.with { state throws(ClientError) in
                let address = addresses[state.current]
                var sent = false
                do throws(ClientError) {
                    if state.connection == nil { state.connection = try connect(state.current, timeoutMillis: timeoutMillis, token: &state.token) }
                    sent = true
                    do throws(RESPClient.Failure) {
                        return try state.connection!.post(path, text)
                    } catch {
                        throw ClientError.unreachable("\(address): \(error)")
                    }
                } catch {
                    guard case .unreachable(let why) = error else { throw error }
                    reasons.append(why)
                    state.connection = nil
                    state.current = (state.current + 1) % addresses.count
                    return sent && !idempotent ? .some(nil) : nil
                }
            }
            guard let answer else { continue }
            guard let answer else {
                throw ClientError.unreachable("etcd \(endpointNames): \(path) may still take effect: \(reasons.last ?? "")")
            }
            let object = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any]
            guard answer.status == 200, let object else {
                let message = (object?["message"] as? String) ?? (object?["error"] as? String) ?? answer.body
                if credentials != nil, !reauthenticated, message.contains("invalid auth token") || message.contains("token is expired") {
                    reauthenticated = true  // the token lapsed: authenticate again, once
                    state.with { $0.token = nil; $0.connection = nil }
                    attempt -= 1
                    continue
                }
                throw ClientError.refused(endpoint: endpointNames, message: "\(path): HTTP \(answer.status): \(message.prefix(300))")
            }
            return object
        }
        throw ClientError.unreachable("etcd \(endpointNames): " + reasons.joined(separator: "; "))
    }

    /// A connection of its own on the first endpoint that accepts one, for a stream.
    func streamConnection(readTimeoutMillis: Int) throws(ClientError) -> HTTPConnection {
        var reasons: [String] = []
        let first = state.with { $0.current }
        for offset in 0..<addresses.count {
            var token = state.with { $0.token }
            do throws(ClientError) {
                let connection = try connect((first + offset) % addresses.count, timeoutMillis: readTimeoutMillis, token: &token)
                state.with { $0.token = token }
                return connection
            } catch {
                guard case .unreachable = error else { throw error }
                reasons.append("\(error)")
            }
        }
        throw ClientError.unreachable("etcd \(endpointNames): " + reasons.joined(separator: "; "))
    }

    static func encode(_ body: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    static func text(_ base64: Any?) -> String? {
        (base64 as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    static func prefixEnd(_ prefix: String) -> String { EtcdEncoding.prefixEnd(prefix) }

    /// A 64-bit field the gateway writes as a string (absent when zero).
    static func int(_ value: Any?) -> Int64 {
        if let text = value as? String { return Int64(text) ?? 0 }
        if let number = value as? NSNumber { return number.int64Value }
        return 0
    }

    static func revision(_ answer: [String: Any]) -> Int64 {
        int((answer["header"] as? [String: Any])?["revision"])
    }
}

/// etcd's JSON-gateway encodings that the client and the console (`conclave console --etcd`) share.
public enum EtcdEncoding {
    /// The first key after every key starting with `prefix` (etcd's range end for a prefix), base64.
    public static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes).base64EncodedString()
            }
            bytes.removeLast()
        }
        return Data([0]).base64EncodedString()  // every key
    }
}
