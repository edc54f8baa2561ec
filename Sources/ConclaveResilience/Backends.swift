import ConclaveCore

/// Limits shared by the balancers.
public enum Backends {
    /// The most backends any balancer accepts.
    public static let countMax = 1 << 16

    static func validate(count: Int) throws(ResilienceConfigurationError) {
        guard count >= 1, count <= countMax else {
            throw ResilienceConfigurationError(
                parameter: "backendCount", value: String(count), accepted: "a count of backends from 1 to \(countMax)"
            )
        }
    }
}
