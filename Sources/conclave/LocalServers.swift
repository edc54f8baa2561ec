import ConclaveClient
import ConclaveWire
import Foundation

/// The servers a bench or a lab run starts on loopback — Conclave node processes, etcd, Redis —
/// under one directory (a temporary one unless given), all stopped by `stop()` or by SIGINT/SIGTERM.
final class LocalServers {
    let base: String
    let foreign = ForeignProcesses()
    private let clusterBox = ClusterBox()
    private let removeBase: Bool
    private var signals: [any DispatchSourceSignal] = []

    init(purpose: String, directory: String? = nil) throws {
        base = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("conclave-\(purpose)-\(getpid())").path
        removeBase = directory == nil
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let (box, foreign) = (clusterBox, foreign)
        signals = stoppingOnSignals {
            box.cluster?.stop()
            foreign.stop()
        }
    }

    /// Three (or `nodes`) Conclave node processes; the leader's client address once one is elected.
    func conclave(nodes: Int = 3, basePort: Int) throws -> (cluster: LocalCluster, leader: PeerAddress) {
        let cluster = try LocalCluster(directory: base + "/conclave", nodes: nodes, basePort: basePort)
        clusterBox.cluster = cluster
        return (cluster, cluster.clientAddress(of: try cluster.waitForLeader(seconds: 60)))
    }

    func etcd(basePort: Int) throws -> EtcdCluster { try EtcdCluster.start(in: base, basePort: basePort, processes: foreign) }

    func redis(port: Int, name: String = "redis") throws -> RedisServer {
        try RedisServer.start(in: "\(base)/\(name)", port: port, processes: foreign)
    }

    func stop() {
        signals.forEach { $0.cancel() }
        clusterBox.cluster?.stop()
        foreign.stop()
        if removeBase { try? FileManager.default.removeItem(atPath: base) }
    }
}
