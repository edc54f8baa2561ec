import ArgumentParser
import ConclaveWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Node processes of this binary on loopback, for benchmarks and process chaos: started with
/// `conclave node` (peers on basePort + i, clients on basePort + 100 + i, data in directory/i, log
/// in directory/i.log), killed, paused and restarted one at a time, stopped with SIGTERM (SIGKILL
/// after 10 s). Every process it starts it stops.
final class LocalCluster: @unchecked Sendable {  // the signal handler only stops it
    let directory: String
    let nodes: Int
    let basePort: Int
    /// Extra `conclave node` flags for every node (e.g. `--token-file`).
    let extraArguments: [String]
    /// The cluster token, when the nodes were given one: `client(of:)` authenticates with it.
    let token: String?
    /// Node N's address (127.0.0.1 unless each node has a network namespace of its own).
    let host: @Sendable (Int) -> String
    /// What node N's command is run through (e.g. `ip netns exec …`); nothing by default.
    let launcher: @Sendable (Int) -> [String]
    private var processes: [Process] = []
    private let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()

    init(directory: String, nodes: Int, basePort: Int, extraArguments: [String] = [], token: String? = nil,
         host: @escaping @Sendable (Int) -> String = { _ in "127.0.0.1" }, launcher: @escaping @Sendable (Int) -> [String] = { _ in [] }) throws {
        self.directory = directory
        self.nodes = nodes
        self.basePort = basePort
        self.extraArguments = extraArguments
        self.token = token
        self.host = host
        self.launcher = launcher
        for node in 1...nodes { processes.append(try launch(node)) }
    }

    private func launch(_ node: Int) throws -> Process {
        let peers = (1...nodes).map { "\($0)=\(host($0)):\(basePort + $0)" }.joined(separator: ",")
        let process = Process()
        let arguments = [
            "node", "--id", "\(node)", "--data", "\(directory)/\(node)", "--peer-listen", "\(host(node)):\(basePort + node)",
            "--client-listen", "\(host(node)):\(basePort + 100 + node)", "--peers", peers, "--log-level", "warning",
        ] + extraArguments
        let wrapper = launcher(node)
        process.executableURL = wrapper.first.map { URL(fileURLWithPath: $0) } ?? executable
        process.arguments = wrapper.isEmpty ? arguments : Array(wrapper.dropFirst()) + [executable.path] + arguments
        let log = "\(directory)/\(node).log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        process.standardError = handle
        try process.run()
        return process
    }

    func pid(of node: Int) -> Int32 { processes[node - 1].processIdentifier }

    /// A base for `span` ports below Linux's ephemeral range (32768…): ports there are handed to
    /// outgoing connections, and a listener that lands on one fails with "address in use".
    static func randomBasePort(span: Int) -> Int { Int.random(in: 20_000..<(32_768 - span)) }

    func clientAddress(of node: Int) -> PeerAddress { PeerAddress(host: host(node), port: basePort + 100 + node) }

    /// A connection to a node's client port, authenticated when the cluster has a token.
    func client(of node: Int, timeoutMillis: Int = 1_000) throws -> RESPClient {
        let client = try RESPClient(clientAddress(of: node), timeoutMillis: timeoutMillis)
        if let token, case .error(let text) = try client.call(["AUTH", token]) {
            throw ValidationError("node \(node) refused AUTH: \(text)")
        }
        return client
    }

    /// A node's leader as its INFO says (nil: it does not answer or knows none).
    func leader(seenBy node: Int) -> Int? {
        guard let leader = (try? client(of: node).info("replication"))?["leader_id"].flatMap({ Int($0) }), leader != 0 else {
            return nil
        }
        return leader
    }

    func isRunning(_ node: Int) -> Bool { processes[node - 1].isRunning }

    /// SIGKILL, and waits for the process to be gone.
    func kill(_ node: Int) {
        let process = processes[node - 1]
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Starts a stopped (killed or exited) node again on its data directory.
    func restart(_ node: Int) throws {
        guard !processes[node - 1].isRunning else { return }
        processes[node - 1] = try launch(node)
    }

    /// SIGSTOP / SIGCONT: the process is frozen (sockets open, nothing answered) or thawed.
    func pause(_ node: Int) { if processes[node - 1].isRunning { Glibc.kill(pid(of: node), SIGSTOP) } }
    func resume(_ node: Int) { if processes[node - 1].isRunning { Glibc.kill(pid(of: node), SIGCONT) } }

    /// Polls INFO until every node names the same leader; fails with the logs' last lines.
    func waitForLeader(seconds: Double) throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let dead = processes.firstIndex(where: { !$0.isRunning }) {
                throw ValidationError("node \(dead + 1) exited: \(logTail(dead + 1))")
            }
            let leaders = (1...nodes).map { leader(seenBy: $0) }
            if let first = leaders.first ?? nil, leaders.allSatisfy({ $0 == first }) { return first }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ValidationError("no leader within \(seconds) s; node 1's log: \(logTail(1))")
    }

    func stop() {
        for (index, process) in processes.enumerated() where process.isRunning {
            resume(index + 1)  // a stopped process would not act on SIGTERM
            process.terminate()
        }
        let deadline = Date().addingTimeInterval(10)
        for process in processes {
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    func logTail(_ node: Int) -> String {
        let text = (try? String(contentsOfFile: "\(directory)/\(node).log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(3).joined(separator: " | ")
    }
}

/// While the returned sources live, SIGINT and SIGTERM run `stop` (stopping the processes a
/// command started) and then end this process with 128 + the signal, as the shell expects: a run
/// interrupted by hand or by `timeout` leaves no node behind.
func stoppingOnSignals(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            stop()
            exit(128 + number)
        }
        source.resume()
        return source
    }
}
