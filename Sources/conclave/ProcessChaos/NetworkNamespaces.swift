import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Each node process in a Linux network namespace of its own, joined to a bridge in this one by a
/// veth pair: node N listens on 10.201.S.N (S from this process's ID, so runs side by side do not
/// meet), this namespace is 10.201.S.254 on the bridge, so the clients reach every node. A
/// partition is then the kernel's: the node's link goes down and its packets stop, sockets and all,
/// instead of a rule in the node's own transport. Needs root and iproute2's `ip`; everything it
/// creates it deletes (`remove()`, also on SIGINT/SIGTERM through the runner's stop).
///
/// What this kernel offers decides the faults: with no traffic-control actions here (tc `drop`
/// and `netem` are not built in), one-way drops stay ADMIN rules; isolating a node is a link down.
final class NetworkNamespaces: @unchecked Sendable {  // the signal handler only removes it
    let nodes: Int
    let name: String
    let subnet: String
    private let ip: String
    private var created = false

    /// iproute2's `ip`, when this process may use it to build namespaces; else why not.
    static func tool() throws(ValidationError) -> String {
        guard geteuid() == 0 else {
            throw ValidationError("--netns needs root: it creates network namespaces, a bridge and veth pairs (run as root, or leave out --netns to partition with ADMIN rules)")
        }
        guard let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("--netns needs iproute2's ip (apt-get install iproute2)")
        }
        return ip
    }

    init(nodes: Int) throws {
        ip = try Self.tool()
        self.nodes = nodes
        let id = Int(getpid())
        name = "cnv\(id % 10_000_000)"
        subnet = "10.201.\(id % 250 + 1)"
        created = true
        do {
            try run(["link", "add", bridge, "type", "bridge"])
            try run(["addr", "add", "\(subnet).254/24", "dev", bridge])
            try run(["link", "set", bridge, "up"])
            for node in 1...nodes {
                try run(["netns", "add", namespace(node)])
                try run(["link", "add", hostSide(node), "type", "veth", "peer", "name", "eth0", "netns", namespace(node)])
                try run(["link", "set", hostSide(node), "master", bridge, "up"])
                try run(["-n", namespace(node), "addr", "add", "\(address(of: node))/24", "dev", "eth0"])
                try run(["-n", namespace(node), "link", "set", "eth0", "up"])
                try run(["-n", namespace(node), "link", "set", "lo", "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    var bridge: String { name + "br" }
    func namespace(_ node: Int) -> String { "\(name)-\(node)" }
    private func hostSide(_ node: Int) -> String { "\(name)h\(node)" }
    func address(of node: Int) -> String { "\(subnet).\(node)" }

    /// The command that runs a program inside node N's namespace (`ip netns exec` execs it: the
    /// process ID is the program's).
    func launcher(of node: Int) -> [String] { [ip, "netns", "exec", namespace(node)] }

    /// Node N's link goes down: nothing reaches it and nothing leaves it (peers and clients alike).
    func cut(_ node: Int) throws { try run(["-n", namespace(node), "link", "set", "eth0", "down"]) }

    /// Node N's link comes back up.
    func restore(_ node: Int) throws { try run(["-n", namespace(node), "link", "set", "eth0", "up"]) }

    /// Whether node N's link is up.
    func isUp(_ node: Int) -> Bool {
        (try? output(["-n", namespace(node), "link", "show", "eth0"]))?.contains("state UP") ?? false
    }

    /// Deletes the namespaces, their veth pairs and the bridge.
    func remove() {
        guard created else { return }
        created = false
        for node in 1...nodes { try? run(["netns", "delete", namespace(node)]) }
        try? run(["link", "delete", bridge])
    }

    private func run(_ arguments: [String]) throws { _ = try output(arguments) }

    private func output(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("ip \(arguments.joined(separator: " ")): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text
    }
}
