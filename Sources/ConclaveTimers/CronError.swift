/// Why a cron expression or a time zone was refused: which field, the value given, and what is wrong
/// with it, e.g. `hour: 25 is out of range 0…23`.
public struct CronError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field as cron documentation names it (`minute`, `hour`, `day-of-month`, `month`,
    /// `day-of-week`), or `expression`, `offsetSeconds`, `time zone`.
    public let field: String
    /// The offending text or number, as given.
    public let value: String
    /// What is wrong and what is accepted, phrased to follow the value.
    public let problem: String

    public init(field: String, value: String, problem: String) {
        self.field = field
        self.value = value
        self.problem = problem
    }

    public var description: String { "\(field): \(value) \(problem)" }
}
