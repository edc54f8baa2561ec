#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking RESP2 client on one TCP connection: for `conclave bench node` and tests, where
/// one thread per client and no event loop keep the measurement simple. Sends a batch of commands
/// in one write (pipelining) and reads their replies in order. Every read waits at most
/// `timeoutMillis`; then the call fails rather than hang.
public final class RESPClient {
    public let address: PeerAddress
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var readPosition = 0
    private var chunk: [UInt8]
    private let parser = RESPParser(limits: RESPLimits(), authenticated: true)

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        /// The read timeout passed with nothing read: the connection is intact and may be read again.
        public var timedOut: Bool
        public init(description: String, timedOut: Bool = false) {
            self.description = description
            self.timedOut = timedOut
        }

        /// A failed `recv` (count ≤ 0) on a connection to `address`.
        public static func received(_ count: Int, from address: PeerAddress) -> Failure {
            if count == 0 { return Failure(description: "\(address) closed the connection") }
            let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
            return Failure(description: "read from \(address): " + (timedOut ? "timed out" : String(cString: strerror(errno))), timedOut: timedOut)
        }
    }

    /// `readBufferBytes`: how much one read takes at most (small for many idle connections).
    public init(_ address: PeerAddress, timeoutMillis: Int = 10_000, readBufferBytes: Int = 64 << 10) throws(Failure) {
        self.address = address
        chunk = [UInt8](repeating: 0, count: max(16, readBufferBytes))
        descriptor = try connectTCP(address, timeoutMillis: timeoutMillis).get()
    }

    deinit { close(descriptor) }

    /// Changes how long a read waits (a parked call may wait longer than an ordinary one).
    public func setReadTimeout(millis: Int) {
        var timeout = timeval(tv_sec: millis / 1_000, tv_usec: Int(millis % 1_000) * 1_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Ends the connection from any thread: a read blocked on it returns at once with an error
    /// (how a cancelled wait is woken).
    public func shutdownConnection() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    /// Sends one command and reads its reply.
    public func call(_ arguments: [String]) throws(Failure) -> RESPValue {
        try pipeline([arguments])[0]
    }

    /// Sends the commands in one write and reads one reply per command, in order.
    public func pipeline(_ commands: [[String]]) throws(Failure) -> [RESPValue] {
        try send(commands)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        while replies.count < commands.count { replies.append(try readReply()) }
        return replies
    }

    // MARK: - Many connections on one thread

    /// The socket, for `poll`: a load generator keeps many clients on one thread, sending with
    /// `send` and reading with `receiveAvailable` when the socket is readable.
    public var socketDescriptor: Int32 { descriptor }

    /// Sends the commands in one write, without reading.
    public func send(_ commands: [[String]]) throws(Failure) {
        var bytes: [UInt8] = []
        for command in commands {
            RESPEncoder.encode(.array(command.map { .bulk($0) }), version: .resp2, into: &bytes)
        }
        try write(bytes)
    }

    /// Reads once (the socket must be readable, or this blocks up to the timeout) and returns
    /// every whole reply now buffered, in order; an empty list when a reply is still incomplete.
    public func receiveAvailable() throws(Failure) -> [RESPValue] {
        try fill()
        var replies: [RESPValue] = []
        while let reply = try parsed() { replies.append(reply) }
        return replies
    }

    private func write(_ bytes: [UInt8]) throws(Failure) {
        if let failure = sendAll(descriptor, bytes, to: address) { throw failure }
    }

    /// Reads the next reply or push (blocking up to the timeout): for a subscription's stream.
    public func next() throws(Failure) -> RESPValue { try readReply() }

    /// The next reply or push, or nil if the read timeout passed first (the connection stays
    /// usable): for a stream read between other duties.
    public func nextOrTimeout() throws(Failure) -> RESPValue? {
        do throws(Failure) {
            return try readReply()
        } catch {
            if error.timedOut { return nil }
            throw error
        }
    }

    private func readReply() throws(Failure) -> RESPValue {
        while true {
            if let reply = try parsed() { return reply }
            try fill()
        }
    }

    /// The next whole reply in the buffer, if there is one.
    private func parsed() throws(Failure) -> RESPValue? {
        guard readPosition < buffer.count else { return nil }
        let parsed: (value: RESPValue, consumed: Int)?
        do {
            parsed = try buffer[readPosition...].withUnsafeBytes { bytes throws(RESPProtocolError) in try parser.parseValue(bytes) }
        } catch {
            throw Failure(description: "reply from \(address): \(error)")
        }
        guard let (value, consumed) = parsed else { return nil }
        readPosition += consumed
        if readPosition == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readPosition = 0
        }
        return value
    }

    /// One `recv` into the buffer.
    private func fill() throws(Failure) {
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure.received(count, from: address) }
        buffer.append(contentsOf: chunk[..<count])
    }
}
