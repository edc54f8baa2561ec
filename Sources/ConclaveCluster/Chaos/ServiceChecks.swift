/// What a chaos run checks beside the history's linearizability, for the services the history
/// format has no operation for: a counter and Snowflake IDs. Each returns the problems found
/// (empty: it holds).
public enum ServiceChecks {
    /// An ID a client got, from which node, between which instants of the run's monotonic clock.
    public struct IssuedID: Equatable, Sendable {
        public var node: Int
        public var id: UInt64
        public var call: UInt64
        public var returned: UInt64

        public init(node: Int, id: UInt64, call: UInt64, returned: UInt64) {
            self.node = node
            self.id = id
            self.call = call
            self.returned = returned
        }
    }

    /// The counter read after the final heal counts every acknowledged increment and each unknown
    /// one at most once; no two acknowledged increments answered the same value.
    public static func counter(acknowledged answers: [Int64], unknown: Int, final: Int64?) -> [String] {
        guard let final else { return ["the final counter read gave no number"] }
        var problems: [String] = []
        let acknowledged = Int64(answers.count)
        if final < acknowledged || final > acknowledged + Int64(unknown) {
            problems.append("counter is \(final) after \(acknowledged) acknowledged and \(unknown) unknown increments")
        }
        var seen: Set<Int64> = []
        if let repeated = answers.first(where: { !seen.insert($0).inserted }) {
            problems.append("two acknowledged INCRs answered \(repeated)")
        }
        return problems
    }

    /// IDs are unique across the cluster, and one node's are increasing in real-time order: an ID
    /// whose call came after another ID from the same node returned is greater than it.
    public static func ids(_ issued: [IssuedID]) -> [String] {
        var problems: [String] = []
        var seen: [UInt64: Int] = [:]
        for id in issued {
            if let first = seen.updateValue(id.node, forKey: id.id) {
                problems.append("ID \(id.id) issued twice (by node \(first), then by node \(id.node))")
                break
            }
        }
        for node in Set(issued.map(\.node)).sorted() {
            // Walk in call order, keeping the greatest ID already returned before each call.
            let fromNode = issued.filter { $0.node == node }
            let byReturn = fromNode.sorted { $0.returned < $1.returned }
            var returnedIndex = 0
            var greatest: IssuedID?
            for id in fromNode.sorted(by: { $0.call < $1.call }) {
                while returnedIndex < byReturn.count, byReturn[returnedIndex].returned < id.call {
                    if greatest == nil || byReturn[returnedIndex].id > greatest!.id { greatest = byReturn[returnedIndex] }
                    returnedIndex += 1
                }
                if let before = greatest, before.id >= id.id {
                    problems.append("node \(node) issued ID \(id.id) after it had returned \(before.id)")
                    break
                }
            }
        }
        return problems
    }
}
