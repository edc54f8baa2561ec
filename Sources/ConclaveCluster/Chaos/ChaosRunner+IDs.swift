import ConclaveCore
import ConclaveCoordination
import ConclaveIDs

/// The ID workload: each client is a Snowflake generator on a node's wall clock (skewed by the
/// nemesis, both ways), holding a session and a worker ID leased through consensus. It renews the
/// lease with a deadline on its own clock and feeds each grant to its generator, which stops a
/// safety margin before the deadline and, for a reused worker ID, stamps only after the previous
/// holder's deadline. Checked at the end: no ID twice across all workers, each ID's worker field is
/// the leased worker, and per worker the IDs increase — within a lease and from one lease to the next.
extension ChaosRunner {
    static let idWorkersMax = 32
    static let idSafetyMarginMillis: UInt64 = 1_000

    /// The next session-upkeep or lease command an ID client needs, or nil to issue IDs.
    func idCommand(_ slot: Int) -> CoordinationCommand? {
        let client = clients[slot]
        let clock = simulator.wallClockMillis(of: client.hostNode)
        let quarter = options.sessionTTLMillis * 1_000_000 / 4
        if client.generator == nil || simulator.now - client.lastRenewalCall >= quarter {
            clients[slot].lastRenewalCall = simulator.now
            return .leaseWorker(workersMax: Self.idWorkersMax, deadlineMillis: clock + options.sessionTTLMillis)
        }
        return nil
    }

    /// Issues a burst of IDs on the host node's clock and records them.
    func issueIDs(_ slot: Int) {
        guard var generator = clients[slot].generator else { return }
        let clock = simulator.wallClockMillis(of: clients[slot].hostNode)
        for _ in 0..<8 {
            guard case .id(let id) = generator.next(nowMillis: clock) else { break }
            issuedIDs.append(IssuedID(id: id, worker: Int(generator.configuration.workerID), leaseEpoch: clients[slot].leaseEpoch))
            if healed { idsAfterHeal += 1 }
        }
        clients[slot].generator = generator
    }

    /// A worker lease (or renewal) was granted at `deadline` on the client's clock.
    func workerLeased(_ slot: Int, worker: Int, startAfterMillis: UInt64, deadlineMillis: UInt64) {
        if let generator = clients[slot].generator, Int(generator.configuration.workerID) == worker {
            clients[slot].generator!.renewLease(expiresAtMillis: deadlineMillis, startAfterMillis: startAfterMillis)
            return
        }
        let configuration = SnowflakeConfiguration(epochMillis: 0, datacenterID: 0, workerID: UInt64(worker),
                                                   leaseSafetyMarginMillis: Self.idSafetyMarginMillis)
        do {
            clients[slot].generator = try SnowflakeGenerator(configuration: configuration, leaseExpiresAtMillis: deadlineMillis,
                                                             startAfterMillis: startAfterMillis)
        } catch {
            idViolations.append("worker \(worker): generator refused its configuration: \(error)")
            return
        }
        nextLeaseEpoch += 1
        clients[slot].leaseEpoch = nextLeaseEpoch
    }

    /// Every ID once, with its worker's field, and per worker increasing across leases in grant order.
    func checkIDs() -> [String] {
        var problems = idViolations
        var seen = Set<UInt64>()
        let layout = SnowflakeLayout.standard
        for issued in issuedIDs {
            if !seen.insert(issued.id).inserted { problems.append("ID \(issued.id) issued twice") }
            let decoded = try? layout.decode(issued.id)
            if decoded.map({ Int($0.workerID) }) != issued.worker {
                problems.append("ID \(issued.id) carries worker \(decoded.map { String($0.workerID) } ?? "?"), leased \(issued.worker)")
            }
        }
        for (worker, ids) in Dictionary(grouping: issuedIDs, by: \.worker) {
            var highest: (id: UInt64, epoch: Int)?
            for issued in ids.sorted(by: { ($0.leaseEpoch, $0.id) < ($1.leaseEpoch, $1.id) }) {
                if let previous = highest, issued.id <= previous.id {
                    problems.append("worker \(worker): ID \(issued.id) (lease \(issued.leaseEpoch)) not above \(previous.id) (lease \(previous.epoch))")
                    break
                }
                highest = (issued.id, issued.leaseEpoch)
            }
            let byLease = Dictionary(grouping: ids, by: \.leaseEpoch)
            for (epoch, leaseIDs) in byLease where zip(leaseIDs, leaseIDs.dropFirst()).contains(where: { $0.id >= $1.id }) {
                problems.append("worker \(worker): IDs of lease \(epoch) not increasing in issue order")
            }
        }
        return Array(problems.prefix(20))
    }
}

/// One ID a client issued, with the worker and the lease it was issued under.
struct IssuedID {
    var id: UInt64
    var worker: Int
    var leaseEpoch: Int
}
