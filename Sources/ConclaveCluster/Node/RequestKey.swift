/// A client request's identity: the answer a node owes goes to (client, sequence).
struct RequestKey: Hashable {
    var client: UInt64
    var sequence: UInt64
}
