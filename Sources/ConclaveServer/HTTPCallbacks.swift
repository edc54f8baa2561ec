import ConclaveCluster
import ConclaveCore
import ConclaveWire
import Foundation
import NIOCore
import NIOPosix

/// Where a named callback target is: `http://host:port/path`. Plain HTTP/1.1 only (no TLS: put a
/// local proxy in front of an HTTPS endpoint).
public struct CallbackEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String

    public static let namesMax = 64
    static let nameLengthMax = 64

    /// Parses `http://host[:port][/path]` (port 80 when absent, path `/` when absent).
    public init(parsing text: String) throws(ServerInputError) {
        let scheme = "http://"
        guard text.lowercased().hasPrefix(scheme) else {
            throw ServerInputError("callback URL '\(text.prefix(200))': accepted: http://host[:port][/path] (plain HTTP; no https)")
        }
        let rest = text.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        guard !authority.isEmpty, !authority.contains("@") else {
            throw ServerInputError("callback URL '\(text.prefix(200))' has no host; accepted: http://host[:port][/path]")
        }
        guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\r" && $0 != "\n" }) else {
            throw ServerInputError("callback URL '\(text.prefix(200))': the path must be ASCII without spaces")
        }
        if authority.contains(":") {
            let address = try PeerAddress(parsing: String(authority))
            guard address.port > 0 else { throw ServerInputError("callback URL '\(text.prefix(200))': port 0 is not a port to call") }
            host = address.host
            port = address.port
        } else {
            host = String(authority)
            port = 80
        }
        self.path = path.isEmpty ? "/" : String(path)
    }

    public var description: String { "http://\(host):\(port)\(path)" }

    /// `name=http://…,name=http://…` (the `--callbacks` flag).
    static func parseList(_ text: String) throws(ServerInputError) -> [String: CallbackEndpoint] {
        var endpoints: [String: CallbackEndpoint] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ServerInputError("--callbacks item '\(item.prefix(200))': accepted: name=http://host:port/path")
            }
            let name = String(parts[0]).trimmingCharacters(in: .whitespaces)
            try checkName(name)
            guard endpoints[name] == nil else { throw ServerInputError("--callbacks names '\(name)' twice") }
            endpoints[name] = try CallbackEndpoint(parsing: String(parts[1]).trimmingCharacters(in: .whitespaces))
        }
        guard endpoints.count <= namesMax else {
            throw ServerInputError("--callbacks names \(endpoints.count) targets; at most \(namesMax)")
        }
        return endpoints
    }

    static func checkName(_ name: String) throws(ServerInputError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        guard !name.isEmpty, name.utf8.count <= nameLengthMax, allowed else {
            throw ServerInputError("callback name '\(name.prefix(200))': accepted: 1…\(nameLengthMax) of A-Z a-z 0-9 . _ -")
        }
    }
}

/// A daemon's callback targets: the ones named in its configuration are real HTTP endpoints (the
/// node asks the daemon to call them, `NodeOutput.callback`); a name not configured fails at once,
/// saying which names are — so it counts against that name's breaker like any failing target.
final class HTTPCallbackTargets: CallbackTargets {
    let node: NodeID
    let endpoints: [String: CallbackEndpoint]

    init(node: NodeID, endpoints: [String: CallbackEndpoint]) {
        self.node = node
        self.endpoints = endpoints
    }

    func call(_ target: String) -> CallbackCall? {
        if endpoints[target] != nil { return nil }
        let names = endpoints.keys.sorted()
        return CallbackCall(durationNanos: 0, failure: "no callback target '\(target)' on node \(node) (configured: "
            + (names.isEmpty ? "none; see --callbacks" : names.joined(separator: ", ")) + ")")
    }
}

/// One HTTP POST per callback try, on the daemon's event loop: connect, send, read the status line,
/// close. 2xx is success; anything else — another status, a refused connection, a closed or
/// garbled answer, the task's timeout — is a failure named for the breaker and the task's report.
///
/// The request: `POST path` with the firing as JSON (`node`, `task`, `name`, `fire`, `attempt`,
/// `key`, `payload`) and the headers `Idempotency-Key` (the firing's key: every retry and every
/// repeat after a failover carries the same one) and `Conclave-Task` / `Conclave-Attempt`.
enum HTTPCallbackClient {
    /// Bytes read before the status line must have ended.
    static let statusLineBytesMax = 8_192

    static func post(_ request: CallbackRequest, to endpoint: CallbackEndpoint, on loop: any EventLoop,
                     answer: @escaping @Sendable (String?) -> Void) {
        let promise = loop.makePromise(of: Int.self)
        let timeout = TimeAmount.nanoseconds(Int64(clamping: request.timeoutNanos))
        let connect = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(StatusLineReader(promise)) }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        connect.whenSuccess { channel in
            var buffer = channel.allocator.buffer(capacity: 512)
            buffer.writeString(text(of: request, to: endpoint))
            channel.writeAndFlush(buffer, promise: nil)
            let timer = loop.scheduleTask(in: timeout) {
                promise.fail(CallbackFailure("no answer within \(request.timeoutNanos / 1_000_000) ms"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in
                timer.cancel()
                channel.close(promise: nil)
            }
        }
        connect.whenFailure { error in promise.fail(CallbackFailure("cannot connect to \(endpoint): \(error)")) }
        promise.futureResult.whenComplete { result in
            switch result {
            case .success(let status) where (200..<300).contains(status): answer(nil)
            case .success(let status): answer("HTTP \(status) from \(endpoint)")
            case .failure(let error): answer("\(error)")
            }
        }
    }

    /// The whole request: head and JSON body.
    static func text(of request: CallbackRequest, to endpoint: CallbackEndpoint) -> String {
        let body = "{\"node\":\(request.node),\"task\":\(request.task),\"name\":\(json(request.name)),\"fire\":\(request.fire),"
            + "\"attempt\":\(request.attempt),\"key\":\(json(request.key)),\"payload\":\(json(request.payload))}"
        return "POST \(endpoint.path) HTTP/1.1\r\n"
            + "Host: \(endpoint.host):\(endpoint.port)\r\n"
            + "User-Agent: conclave-node/\(request.node)\r\n"
            + "Content-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n"
            + "Idempotency-Key: \(headerSafe(request.key))\r\n"
            + "Conclave-Task: \(request.task)\r\n"
            + "Conclave-Attempt: \(request.attempt)\r\n"
            + "Connection: close\r\n\r\n" + body
    }

    /// A JSON string literal (the history format's quoting).
    static func json(_ text: String) -> String {
        var out = ""
        HistoryFormat.appendQuoted(text, to: &out)
        return out
    }

    /// A header value cannot hold a line break: keys are percent-encoded where they would.
    static func headerSafe(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "\r\n").inverted) ?? ""
    }

    /// Parses `HTTP/1.x NNN …` into the status code.
    static func status(ofLine line: Substring) -> Int? {
        let words = line.split(separator: " ", maxSplits: 2)
        guard words.count >= 2, words[0].hasPrefix("HTTP/1."), words[1].count == 3, let code = Int(words[1]),
              (100...599).contains(code) else { return nil }
        return code
    }
}

struct CallbackFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads a response up to its status line and completes the promise with its code.
private final class StatusLineReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Int>
    private var head: [UInt8] = []

    init(_ promise: EventLoopPromise<Int>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        head += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let end = head.firstIndex(of: UInt8(ascii: "\n")) else {
            if head.count > HTTPCallbackClient.statusLineBytesMax {
                promise.fail(CallbackFailure("no HTTP status line in the first \(HTTPCallbackClient.statusLineBytesMax) bytes"))
            }
            return
        }
        let line = String(decoding: head[..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let code = HTTPCallbackClient.status(ofLine: Substring(line)) {
            promise.succeed(code)
        } else {
            promise.fail(CallbackFailure("not an HTTP status line: '\(line.prefix(80))'"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(CallbackFailure("the target closed the connection before answering"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(CallbackFailure("connection error: \(error)"))
        context.close(promise: nil)
    }
}
