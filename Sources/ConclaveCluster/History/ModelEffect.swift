/// The state of one key's sequential model, packed so that the register and the lock share one search.
///
/// For a register, `value` is the interned current value (0: absent) and `highestToken` the greatest
/// token a fenced write that landed carried (0 without fenced writes). For a lock, `value` is the
/// interned holder (0: free) — or, for a lock checked with the general model, the interned
/// `LockModel.LockHolding` — and `highestToken` the greatest fencing token granted so far. Interning
/// is per key (`KeyHistory`, `LockModel`), so states compare as two integers.
struct ModelState: Hashable {
    var value: Int32
    var highestToken: UInt64

    static let initial = ModelState(value: 0, highestToken: 0)
}

/// What one operation does to its key's model: the sequential specification the checker holds the
/// history to (`../shared/HISTORY.md`, "What a correct history satisfies").
///
/// Values and clients are interned per key; 0 means "absent" for values and "nobody" for clients.
/// An outcome of `nil` (`swapped`, `granted`, `released`) means the client never heard the answer: the
/// operation then takes whatever effect the model allows where it is placed, so it never fails.
enum ModelEffect {
    /// `put` (a value) or `delete` (0): always allowed.
    case write(value: Int32)
    /// An answered `get`: allowed only when the register holds `value`.
    case read(value: Int32)
    case compareAndSet(expected: Int32, value: Int32, swapped: Bool?)
    /// `token` is the granted token when `granted == true` (`nil`: not recorded, so not checked).
    case acquire(client: Int32, token: UInt64?, granted: Bool?)
    case release(client: Int32, released: Bool?)
    /// Lease expiry of `holder`'s session: frees the lock iff `holder` holds it.
    case expire(holder: Int32)
    /// A fenced write that landed, or may have (unknown outcome): it lands only with a token not
    /// below any that landed before it. A refused one tells the register nothing and is not given to
    /// the model.
    case fencedWrite(value: Int32, token: UInt64)
    /// An operation of a lock checked with the general model (`LockModel`).
    case lock(LockEffect)

    /// Whether the operation never changes any state it can take effect in: an answered read, or an
    /// answered refusal. The search places such an operation as soon as it fits (see
    /// `LinearizationSearch`).
    var isReadOnly: Bool {
        switch self {
        case .read, .compareAndSet(_, _, false?), .acquire(_, _, false?), .release(_, false?): true
        case .write, .compareAndSet, .acquire, .release, .expire, .fencedWrite: false
        case .lock(let effect): effect.isReadOnly
        }
    }

    /// The state after this operation takes effect in `state`, or `nil` when it cannot happen there.
    /// `locks` is the key's general lock model (only `.lock` effects use it).
    func apply(to state: ModelState, locks: inout LockModel) -> ModelState? {
        var next = state
        switch self {
        case .write(let value):
            next.value = value
        case .read(let value):
            guard state.value == value else { return nil }
        case .compareAndSet(let expected, let value, let swapped):
            let matches = state.value == expected
            if let swapped, swapped != matches { return nil }
            if matches { next.value = value }
        case .acquire(let client, let token, let granted):
            return acquire(state, client: client, token: token, granted: granted)
        case .release(let client, let released):
            let holds = state.value == client
            if let released, released != holds { return nil }
            if holds { next.value = 0 }
        case .expire(let holder):
            if state.value == holder { next.value = 0 }
        case .fencedWrite(let value, let token):
            guard token >= state.highestToken else { return nil }
            next = ModelState(value: value, highestToken: token)
        case .lock(let effect):
            return locks.apply(effect, to: state)
        }
        return next
    }

    private func acquire(_ state: ModelState, client: Int32, token: UInt64?, granted: Bool?) -> ModelState? {
        let free = state.value == 0
        switch granted {
        case true?:
            guard free else { return nil }
            guard let token else { return ModelState(value: client, highestToken: state.highestToken) }
            guard token > state.highestToken else { return nil }
            return ModelState(value: client, highestToken: token)
        case false?:
            return free ? nil : state
        case nil:
            // Granted iff free; its token is unknown, so the highest token seen stays as it was.
            return free ? ModelState(value: client, highestToken: state.highestToken) : state
        }
    }
}
