import ConclaveWire

/// The throttle arguments every backend accepts, and redis-cell's answer read into a decision.
enum ThrottleArguments {
    static func validate(burst: Int, count: Int, period: Duration, quantity: Int) throws(ClientError) {
        guard (0...(1 << 40)).contains(burst) else { throw ClientError.badArgument("burst \(burst): accepted: 0…2^40") }
        guard (1...(1 << 40)).contains(count) else { throw ClientError.badArgument("count \(count): accepted: 1…2^40 per period") }
        guard period >= .seconds(1), period <= .seconds(86_400) else { throw ClientError.badArgument("period \(period): accepted: 1 s…1 day") }
        guard quantity >= 0 else { throw ClientError.badArgument("quantity \(quantity): accepted: 0 or more") }
    }

    static func decision(_ reply: RESPValue, from endpoint: String) throws(ClientError) -> ThrottleDecision {
        guard let values = reply.elements?.compactMap(\.int), values.count == 5 else {
            throw ClientError.badReply(endpoint: endpoint, detail: "a throttle answers 5 integers, got \(reply)")
        }
        return ThrottleDecision(allowed: values[0] == 0, limit: Int(values[1]), remaining: Int(values[2]),
                                retryAfter: values[3] < 0 ? nil : .seconds(values[3]), resetAfter: .seconds(values[4]))
    }
}
