import Testing
@testable import ConclaveCluster

/// The pure parts of `conclave chaos --processes`: the nemesis's schedule (from the seed alone)
/// and the checks for the services the history format has no operation for.
@Suite struct ProcessChaosPlanTests {
    @Test("a seed gives one schedule: faults one at a time, each repaired before the next and before the end")
    func schedule() throws {
        let faults = ProcessFault.allCases
        let first = FaultSchedule(seed: 42, nodes: 3, durationMillis: 60_000, faults: faults)
        #expect(first == FaultSchedule(seed: 42, nodes: 3, durationMillis: 60_000, faults: faults), "the same seed replays")
        #expect(first != FaultSchedule(seed: 43, nodes: 3, durationMillis: 60_000, faults: faults))
        #expect(first.steps.count >= 15, "a fault every 2…5.5 s over a minute")
        #expect(first.steps.map(\.atMillis) == first.steps.map(\.atMillis).sorted())
        #expect(first.steps.allSatisfy { $0.atMillis >= 1_000 && $0.atMillis < 60_000 })
        var open: FaultSchedule.Action?
        for step in first.steps {
            switch step.action {
            case .kill(let node): #expect(open == nil); open = .restart(node)
            case .pause(let node): #expect(open == nil); open = .resume(node)
            case .isolate, .drop: #expect(open == nil); open = .heal
            case .removeMember(let node): #expect(open == nil); open = .addMember(node)
            case .skew(let node, let millis) where millis != 0:
                #expect(open == nil)
                #expect((1_000...5_000).contains(abs(millis)))
                open = .skew(node, millis: 0)
            case .transfer(let node): #expect(open == nil); #expect((1...3).contains(node))
            default:
                #expect(step.action == open, "a repair answers the fault before it")
                open = nil
            }
        }
        #expect(open == nil, "the last fault is repaired before the end")
        #expect(Set(first.steps.map { "\($0.action)".split(separator: " ").first! }).count >= 5, "the faults vary")
    }

    @Test("only the faults asked for; none gives an empty schedule; bad names are refused with the accepted list")
    func faultSelection() throws {
        let kills = FaultSchedule(seed: 1, nodes: 5, durationMillis: 30_000, faults: [.kill])
        #expect(kills.steps.allSatisfy { if case .kill = $0.action { true } else if case .restart = $0.action { true } else { false } })
        #expect(FaultSchedule(seed: 1, nodes: 3, durationMillis: 30_000, faults: []).steps.isEmpty)
        #expect(try ProcessFault.parseList("crash,pause") == [.kill, .pause], "crash is the simulator's name for kill")
        #expect(try ProcessFault.parseList("all") == ProcessFault.allCases)
        #expect(throws: ChaosError.invalid("--nemesis: unknown fault 'flood' for --processes; accepted: kill,pause,partition,skew,transfer,drop,membership, all or none")) {
            try ProcessFault.parseList("kill,flood")
        }
    }

    @Test("the counter holds every acknowledged increment and each unknown one at most once; answers are never repeated")
    func counter() {
        #expect(ServiceChecks.counter(acknowledged: [1, 2, 3], unknown: 0, final: 3) == [])
        #expect(ServiceChecks.counter(acknowledged: [1, 2, 4], unknown: 1, final: 4) == [])
        #expect(ServiceChecks.counter(acknowledged: [1, 2, 3], unknown: 1, final: 2) == ["counter is 2 after 3 acknowledged and 1 unknown increments"])
        #expect(ServiceChecks.counter(acknowledged: [1, 2], unknown: 1, final: 4) == ["counter is 4 after 2 acknowledged and 1 unknown increments"])
        #expect(ServiceChecks.counter(acknowledged: [1, 1], unknown: 0, final: 2) == ["two acknowledged INCRs answered 1"])
        #expect(ServiceChecks.counter(acknowledged: [], unknown: 0, final: nil) == ["the final counter read gave no number"])
    }

    @Test("IDs: unique across nodes; from one node, an ID asked for after another returned is greater")
    func ids() {
        typealias ID = ServiceChecks.IssuedID
        let good = [ID(node: 1, id: 10, call: 0, returned: 5), ID(node: 1, id: 12, call: 6, returned: 9),
                    ID(node: 2, id: 13, call: 1, returned: 4), ID(node: 1, id: 11, call: 7, returned: 8)]
        #expect(ServiceChecks.ids(good) == [], "overlapping calls may return in any order; other nodes do not count")
        #expect(ServiceChecks.ids(good + [ID(node: 2, id: 12, call: 2, returned: 3)])
                == ["ID 12 issued twice (by node 1, then by node 2)"])
        #expect(ServiceChecks.ids([ID(node: 3, id: 50, call: 0, returned: 1), ID(node: 3, id: 40, call: 2, returned: 3)])
                == ["node 3 issued ID 40 after it had returned 50"])
    }
}
