import ConclaveCore

/// The locks' share of the checks on a restored state (see `CoordinationStateMachine.restoredStateProblem`):
/// a grant adds the waiter's TTL to cluster time and takes the next token, a handoff subtracts the
/// waiter's enqueue time from cluster time, a reentrant acquire adds a hold — so those fields must
/// be what apply could have written.
extension LockTable {
    func restoredProblem(nowMillis: UInt64) -> String? {
        guard locks.count <= CoordinationLimits.locksMax else {
            return "\(locks.count) locks, more than the \(CoordinationLimits.locksMax) allowed"
        }
        if let problem = CoordinationLimits.exceeds("the fencing-token counter", lastToken, CoordinationLimits.restoredCounterMax) {
            return problem
        }
        for name in locks.keys.sorted() {
            if let problem = locks[name]!.restoredProblem(nowMillis: nowMillis, tokenCounter: lastToken) {
                return "lock '\(name)': \(problem)"
            }
        }
        return nil
    }
}

extension LockState {
    fileprivate func restoredProblem(nowMillis: UInt64, tokenCounter: UInt64) -> String? {
        let counterMax = CoordinationLimits.restoredCounterMax
        if let problem = CoordinationLimits.exceeds("last token", lastToken, tokenCounter)
            ?? CoordinationLimits.exceeds("unavailable-until", unavailableUntilMillis, CoordinationLimits.restoredInstantMillisMax)
            ?? [("acquires", acquires), ("refusals", refusals), ("waits", waits)].lazy.compactMap({ field, count in
                count < 0 ? "\(field) \(count) is negative" : CoordinationLimits.exceeds(field, UInt64(count), counterMax)
            }).first {
            return problem
        }
        guard waiters.count <= CoordinationLimits.waitersPerLockMax else {
            return "\(waiters.count) waiters, more than the \(CoordinationLimits.waitersPerLockMax) allowed"
        }
        if case .semaphore = kind, permitsHeld > kind.capacity { return "\(permitsHeld) permits held of \(kind.capacity)" }
        for holder in holders {
            if let problem = holderProblem(holder, nowMillis: nowMillis) { return "holder \(holder.session): \(problem)" }
        }
        for waiter in waiters {
            if let problem = waiterProblem(waiter, nowMillis: nowMillis) { return "waiter \(waiter.session): \(problem)" }
        }
        return nil
    }

    private func holderProblem(_ holder: LockHolder, nowMillis: UInt64) -> String? {
        if let problem = LockTable.modeProblem(kind: kind, mode: holder.mode) { return problem }
        guard holder.holdCount >= 1, UInt64(holder.holdCount) <= CoordinationLimits.restoredCounterMax else {
            return "hold count \(holder.holdCount) outside 1…\(CoordinationLimits.restoredCounterMax)"
        }
        guard holder.token >= 1, holder.token <= lastToken else { return "token \(holder.token) outside 1…\(lastToken), the lock's last" }
        guard holder.grantedAtMillis <= nowMillis else {
            return "granted at \(holder.grantedAtMillis) ms, after cluster time \(nowMillis) ms"
        }
        return CoordinationLimits.exceeds("revoke-at", holder.revokeAtMillis ?? 0, CoordinationLimits.restoredInstantMillisMax)
            ?? CoordinationLimits.exceeds("expires-at", holder.expiresAtMillis ?? 0, CoordinationLimits.restoredInstantMillisMax)
    }

    private func waiterProblem(_ waiter: LockWaiter, nowMillis: UInt64) -> String? {
        if let problem = LockTable.modeProblem(kind: kind, mode: waiter.mode) { return problem }
        guard waiter.enqueuedAtMillis <= nowMillis else {
            return "enqueued at \(waiter.enqueuedAtMillis) ms, after cluster time \(nowMillis) ms"
        }
        if let ttl = waiter.ttlMillis, !CoordinationLimits.ttlMillisRange.contains(ttl) {
            return "TTL \(ttl) ms outside \(CoordinationLimits.ttlMillisRange)"
        }
        return CoordinationLimits.exceeds("deadline", waiter.deadlineMillis ?? 0, CoordinationLimits.restoredInstantMillisMax)
    }
}
