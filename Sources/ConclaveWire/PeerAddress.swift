/// Addresses and input errors shared by the node (ConclaveServer) and its clients (the console's
/// remote source, `conclave status`, the benchmarks).

/// A `host:port` a node listens on or dials.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (IPv4 or a name; port 0…65535), naming what was wrong.
    public init(parsing text: String) throws(ServerInputError) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else {
            throw ServerInputError("address '\(text)' is not host:port (e.g. 127.0.0.1:7101)")
        }
        let host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ServerInputError("address '\(text)': the port must be a number in 0…65535")
        }
        self.init(host: host, port: port)
    }

    public var description: String { "\(host):\(port)" }
}

/// A bad flag, config value or address: what was wrong and what is accepted.
public struct ServerInputError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
