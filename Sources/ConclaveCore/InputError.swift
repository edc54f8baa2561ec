/// Why a configuration or input was refused: the parameter, the value given and what is accepted.
///
/// Types that validate what they are given (ID layouts and generators, limiters, breakers,
/// balancers) throw this instead of trapping on an overflow or a division by zero: a bad flag, a
/// bad config file or a bad range from consensus reaches the operator as one sentence. A throwing
/// call never changes the state of the value it was called on.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter's name as the API spells it, e.g. `workerID` or `refillIntervalNanos`.
    public let parameter: String
    /// The rejected value, rendered for a human.
    public let value: String
    /// What the parameter accepts, e.g. "an integer from 0 to 31".
    public let accepted: String

    public init(parameter: String, value: String, accepted: String) {
        self.parameter = parameter
        self.value = value
        self.accepted = accepted
    }

    public var description: String {
        "invalid \(parameter) \(value): expected \(accepted)"
    }
}
