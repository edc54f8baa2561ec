import Synchronization

/// A bounded queue of capacity one, guarded by a mutex: the channel's shape without its blocking
/// operations (the lab only needs offer and poll).
public final class OneSlotQueue<Element: Sendable>: Sendable {
    private let slot = Mutex<Element?>(nil)

    public init() {}

    /// Puts `element` in the slot if it is empty; false when full.
    public func offer(_ element: Element) -> Bool {
        slot.withLock { slot in
            guard slot == nil else { return false }
            slot = element
            return true
        }
    }

    /// Takes what the slot holds, or nil when it is empty.
    public func poll() -> Element? {
        slot.withLock { slot in
            defer { slot = nil }
            return slot
        }
    }
}
