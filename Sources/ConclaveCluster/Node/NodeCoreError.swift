/// Why a node could not start.
public enum NodeCoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Storage could not be read (the node is stopped with this reason).
    case storage(String)
    /// The configuration was refused.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .storage(let reason), .invalidConfiguration(let reason): return reason
        }
    }
}
