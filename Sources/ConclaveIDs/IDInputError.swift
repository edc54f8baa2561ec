import ConclaveCore

/// Why an ID layout, generator, allocator or decode refused its input (the shared `InputError`).
public typealias IDInputError = InputError

extension InputError {
    /// Throws unless `value` is in `range`, naming `parameter` and the range in the error.
    static func require(_ value: UInt64, in range: ClosedRange<UInt64>, _ parameter: String, unit: String = "")
        throws(InputError)
    {
        guard range.contains(value) else {
            let suffix = unit.isEmpty ? "" : " " + unit
            throw InputError(
                parameter: parameter, value: "\(value)\(suffix)",
                accepted: "a value from \(range.lowerBound) to \(range.upperBound)\(suffix)"
            )
        }
    }
}
