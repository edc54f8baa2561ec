import ConclaveCore

/// Why a limiter, breaker or balancer refused its configuration (the shared `InputError`).
public typealias ResilienceConfigurationError = InputError

/// Checks shared by the initializers; each throws a `ResilienceConfigurationError` naming the parameter.
enum Require {
    /// `value` within `1...maximum`.
    static func positive(_ value: Int, _ parameter: String, maximum: Int = Int.max) throws(ResilienceConfigurationError) {
        guard value >= 1, value <= maximum else {
            throw ResilienceConfigurationError(
                parameter: parameter, value: String(value),
                accepted: maximum == Int.max ? "an integer of at least 1" : "an integer from 1 to \(maximum)"
            )
        }
    }

    /// `value` of at least 1 nanosecond (or unit).
    static func positive(_ value: UInt64, _ parameter: String) throws(ResilienceConfigurationError) {
        guard value >= 1 else {
            throw ResilienceConfigurationError(parameter: parameter, value: String(value), accepted: "a value of at least 1")
        }
    }

    /// `value` within `0...maximum`.
    static func nonNegative(_ value: Int, _ parameter: String, maximum: Int) throws(ResilienceConfigurationError) {
        guard value >= 0, value <= maximum else {
            throw ResilienceConfigurationError(
                parameter: parameter, value: String(value), accepted: "an integer from 0 to \(maximum)"
            )
        }
    }

    /// A percentage threshold: greater than 0 and at most 100 (0 would trip on every call).
    static func percent(_ value: Double, _ parameter: String) throws(ResilienceConfigurationError) {
        guard value.isFinite, value > 0, value <= 100 else {
            throw ResilienceConfigurationError(
                parameter: parameter, value: "\(value)", accepted: "a percentage greater than 0 and at most 100"
            )
        }
    }

    /// A finite number greater than 0 (rates given as floating point).
    static func positive(_ value: Double, _ parameter: String) throws(ResilienceConfigurationError) {
        guard value.isFinite, value > 0 else {
            throw ResilienceConfigurationError(parameter: parameter, value: "\(value)", accepted: "a finite number greater than 0")
        }
    }

    /// `left × right`, or an error naming `parameter` when the product does not fit in `limit`.
    static func product(
        _ left: UInt64, _ right: UInt64, limit: UInt64 = UInt64.max, _ parameter: String, _ accepted: String
    ) throws(ResilienceConfigurationError) -> UInt64 {
        let (product, overflow) = left.multipliedReportingOverflow(by: right)
        guard !overflow, product <= limit else {
            throw ResilienceConfigurationError(parameter: parameter, value: "\(left) × \(right)", accepted: accepted)
        }
        return product
    }

    /// A backend list: non-empty, at most `maximum` names, no name twice.
    static func backends(_ names: [String], maximum: Int) throws(ResilienceConfigurationError) {
        guard !names.isEmpty, names.count <= maximum else {
            throw ResilienceConfigurationError(
                parameter: "backends", value: "of \(names.count) names", accepted: "a list of 1 to \(maximum) backends"
            )
        }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw ResilienceConfigurationError(
                parameter: "backends", value: "naming \"\(name)\" twice", accepted: "distinct backend names"
            )
        }
    }
}
