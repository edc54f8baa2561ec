/// The sequential specification of a lock with everything Conclave's locks do beyond HISTORY.md's
/// mutex: several holders (readers of a read/write lock, permits of a semaphore), reentrant holds,
/// blocking acquires, revocation and lock-delay (README, "History operations beyond
/// ../shared/HISTORY.md").
///
/// Only keys whose history uses one of those features pay for it (`KeyHistory` decides); the search
/// still sees a `ModelState` of two integers: `value` is the interned `LockHolding` (0: free, no
/// lock-delay pending) and `highestToken` the greatest token granted, so the memo and its hash stay
/// as they are for every key.
struct LockModel {
    /// What holds a lock at one point of a linearization.
    struct LockHolding: Hashable {
        var holders: [Holder] = []
        /// A holder's session ended on a lock with a lock-delay, and no grant came since: the lock
        /// may still be unavailable, so a try-lock may be refused although it would fit.
        var delayed = false
    }

    /// One holder, in grant order (a release by a client with two semaphore holds frees the older).
    struct Holder: Hashable {
        var client: Int32
        var mode: Mode
        var holdCount: Int32
        /// 0 when the grant's answer was lost.
        var token: UInt64
        /// The revoke (numbered per key from 1) that marked this holder; 0: none.
        var revokeMark: Int32
    }

    enum Mode: Hashable {
        case exclusive, shared
        case permits(Int32)

        /// Whether a holder asking again in this mode adds a hold rather than a second holder.
        var isReentrant: Bool { self == .exclusive || self == .shared }

        var permitCount: Int32 {
            switch self {
            case .exclusive, .shared: 1
            case .permits(let count): count
            }
        }
    }

    /// The key's fixed facts, read off its whole history.
    struct Configuration {
        /// The semaphore's permits (1 for a mutex or read/write lock).
        var capacity: Int32 = 1
        /// Some acquire on the key blocks, so a waiter may stand ahead of a try-lock that would fit.
        var hasWaiters = false
        /// Some acquire on the key asks for a lock-delay.
        var hasLockDelay = false
    }

    let configuration: Configuration
    private var holdings: [LockHolding] = [LockHolding()]
    private var holdingIDs: [LockHolding: Int32] = [LockHolding(): 0]

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The holding a state stands for.
    func holding(of state: ModelState) -> LockHolding { holdings[Int(state.value)] }

    private mutating func state(of holding: LockHolding, highestToken: UInt64) -> ModelState {
        if let id = holdingIDs[holding] { return ModelState(value: id, highestToken: highestToken) }
        let id = Int32(holdings.count)
        holdings.append(holding)
        holdingIDs[holding] = id
        return ModelState(value: id, highestToken: highestToken)
    }
}

/// What one operation on a general lock does (`LockModel.apply`). An outcome of `nil` means the
/// client never heard the answer: the operation takes whatever effect the model allows where it is
/// placed.
enum LockEffect {
    /// `holds` is the hold count the grant answered (`nil`: not recorded); `token` is checked only
    /// when known. A blocking acquire that ended refused took no hold and is not given to the model.
    case acquire(client: Int32, mode: LockModel.Mode, token: UInt64?, holds: Int32?, granted: Bool?)
    /// One hold fewer for the client's oldest holder; the lock frees at a count of 0.
    case release(client: Int32, released: Bool?)
    /// The client's session ends: all its holds go, and a lock-delay may start.
    case expire(holder: Int32)
    /// A revoke takes effect: every holder not yet asked to let go is marked with `mark`. `done:
    /// false` is a revoke refused because the lock had no state, so nobody held it.
    case revoke(mark: Int32, done: Bool?)
    /// The grace of revoke `mark` ends: every holder it marked that still holds goes, at once.
    case revokeLapse(mark: Int32)

    var isReadOnly: Bool {
        switch self {
        case .acquire(_, _, _, _, false?), .release(_, false?), .revoke(_, false?): true
        case .acquire, .release, .expire, .revoke, .revokeLapse: false
        }
    }
}

extension LockModel {
    /// The state after `effect` takes effect in `state`, or `nil` when it cannot happen there.
    mutating func apply(_ effect: LockEffect, to state: ModelState) -> ModelState? {
        var holding = holding(of: state)
        var highestToken = state.highestToken
        switch effect {
        case .acquire(let client, let mode, let token, let holds, let granted):
            guard acquire(client: client, mode: mode, token: token, holds: holds, granted: granted,
                          holding: &holding, highestToken: &highestToken) else { return nil }
            if granted == false { return state }
        case .release(let client, let released):
            let position = holding.holders.firstIndex { $0.client == client }
            if let released, released != (position != nil) { return nil }
            guard let position else { return state }
            holding.holders[position].holdCount -= 1
            if holding.holders[position].holdCount == 0 { holding.holders.remove(at: position) }
        case .expire(let holder):
            let count = holding.holders.count
            holding.holders.removeAll { $0.client == holder }
            if holding.holders.count < count && configuration.hasLockDelay { holding.delayed = true }
        case .revoke(let mark, let done):
            if done == false { return holding.holders.isEmpty ? state : nil }
            for position in holding.holders.indices where holding.holders[position].revokeMark == 0 {
                holding.holders[position].revokeMark = mark
            }
        case .revokeLapse(let mark):
            holding.holders.removeAll { $0.revokeMark == mark }
        }
        return self.state(of: holding, highestToken: highestToken)
    }

    /// Grants (a new holder, or one more hold of a reentrant holder) or refuses; false when the
    /// answer recorded cannot be given in `holding`.
    private func acquire(
        client: Int32, mode: Mode, token: UInt64?, holds: Int32?, granted: Bool?,
        holding: inout LockHolding, highestToken: inout UInt64
    ) -> Bool {
        // A holder asking again for the same mutex or read/write mode gets one more hold and its own
        // token, never a refusal and never a wait. (A semaphore holder takes more permits instead.)
        if mode.isReentrant, let position = holding.holders.firstIndex(where: { $0.client == client && $0.mode == mode }) {
            guard granted != false else { return false }
            let holder = holding.holders[position]
            if let token, holder.token != 0, token != holder.token { return false }
            if let holds, holds != holder.holdCount + 1 { return false }
            holding.holders[position].holdCount += 1
            if let token, holder.token == 0 { holding.holders[position].token = token }
            return true
        }
        let fits = fits(mode, in: holding)
        switch granted {
        case true?:
            guard fits, holds == nil || holds == 1 else { return false }
            if let token {
                guard token > highestToken else { return false }
                highestToken = token
            }
            grant(mode, to: client, token: token ?? 0, in: &holding)
            return true
        case false?:
            // Refused although it fits only behind a waiter (which waits only while some holder
            // stays) or inside a lock-delay.
            return !fits || holding.delayed || (configuration.hasWaiters && !holding.holders.isEmpty)
        case nil:
            // Granted iff it fits; its token is unknown, so the highest token stays as it was.
            if fits { grant(mode, to: client, token: 0, in: &holding) }
            return true
        }
    }

    private func fits(_ mode: Mode, in holding: LockHolding) -> Bool {
        switch mode {
        case .exclusive: return holding.holders.isEmpty
        case .shared: return holding.holders.allSatisfy { $0.mode == .shared }
        case .permits(let count):
            return holding.holders.reduce(0) { $0 + $1.mode.permitCount } + count <= configuration.capacity
        }
    }

    private func grant(_ mode: Mode, to client: Int32, token: UInt64, in holding: inout LockHolding) {
        holding.holders.append(Holder(client: client, mode: mode, holdCount: 1, token: token, revokeMark: 0))
        holding.delayed = false
    }
}
