#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens a blocking TCP connection to an IPv4 address (or `localhost`) with TCP_NODELAY and a
/// receive timeout, for the blocking clients (RESP, HTTP): every read then waits at most
/// `timeoutMillis`. Returns the descriptor, or why not, naming the address.
public func connectTCP(_ address: PeerAddress, timeoutMillis: Int) -> Result<Int32, RESPClient.Failure> {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return .failure(.init(description: "socket: \(String(cString: strerror(errno)))")) }
    var socketAddress = sockaddr_in()
    socketAddress.sin_family = sa_family_t(AF_INET)
    socketAddress.sin_port = in_port_t(UInt16(address.port).bigEndian)
    let host = address.host == "localhost" ? "127.0.0.1" : address.host
    guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else {
        close(descriptor)
        return .failure(.init(description: "\(address.host): not an IPv4 address"))
    }
    var timeout = timeval(tv_sec: timeoutMillis / 1_000, tv_usec: Int(timeoutMillis % 1_000) * 1_000)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var one: Int32 = 1
    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    let connected = withUnsafePointer(to: &socketAddress) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        let reason = String(cString: strerror(errno))
        close(descriptor)
        return .failure(.init(description: "connect \(address): \(reason)"))
    }
    return .success(descriptor)
}

/// Writes all of `bytes` (MSG_NOSIGNAL: a closed peer is an error, not a signal).
public func sendAll(_ descriptor: Int32, _ bytes: [UInt8], to address: PeerAddress) -> RESPClient.Failure? {
    var sent = 0
    while sent < bytes.count {
        let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard count > 0 else { return .init(description: "send to \(address): \(String(cString: strerror(errno)))") }
        sent += count
    }
    return nil
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel picked, listening when `backlog` is given:
/// its descriptor and port, or nil when the kernel refused. For tests' own servers.
public func bindLoopback(listening backlog: Int32? = nil) -> (descriptor: Int32, port: Int)? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard bound == 0, named == 0, backlog.map({ listen(descriptor, $0) == 0 }) ?? true else {
        close(descriptor)
        return nil
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}

/// A loopback port that was free a moment ago (bound, read, closed): for a process that must be
/// told its port before it binds it. Another process may take it meanwhile; tests accept that.
public func freeLoopbackPort() -> Int {
    guard let socket = bindLoopback() else { return 0 }
    close(socket.descriptor)
    return socket.port
}
