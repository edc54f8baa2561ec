/// The Wing–Gong search with Lowe's memoisation ("Testing for linearizability", 2017; the algorithm of
/// Porcupine and of Knossos' `linear`) over one key's operations.
///
/// Call and return events sit in one doubly linked list in time order (a call before a return at the
/// same instant, so touching intervals count as concurrent); an operation with unknown outcome returns
/// at +infinity, after every known return. From the head, any call met before the first return may go
/// next; placing it *lifts* its two events out of the list, backtracking *unlifts* them. Reaching a
/// return means the operation it closes could not be placed in time: backtrack. Once every operation
/// with a known return is placed, the history is linearizable; unplaced unknown ones are left out.
///
/// Two prunings keep the search small; neither loses a linearization:
/// - A read-only operation (an answered get or refusal) that fits the current state is placed at once,
///   as the only choice: any linearization from here that places it later stays one when it moves to
///   now (it changes no state, and its call is already due), so if the forced choice fails, every
///   order from here fails. Without this, k concurrent reads cost 2^k configurations.
/// - An operation with unknown outcome is never placed where it would change nothing: leaving it out
///   reaches the same state with one more option open. Without this, each one doubles the search.
///
/// Memo: a configuration's set of placed operations is fully determined by its *frontier*, the unplaced
/// calls before the first return in the list (every placed operation was called before that return,
/// and every operation called before it is placed unless it is in the frontier). The frontier holds
/// the operations in flight at one instant, about the number of clients plus the unknown outcomes, so a
/// memo entry (`VisitedSet`) is a few words where Lowe's bitset would be n bits. Cost: O(states
/// explored × frontier length), the states bounded by `stateLimit`; the search is exponential only in
/// the unknown outcomes that stay pending, which HISTORY.md asks workloads to keep to a handful per key.
struct LinearizationSearch {
    enum Outcome: Equatable { case linearizable, notLinearizable, budgetExhausted }

    /// What the search found, in indices into `KeyHistory.operations`.
    struct Result {
        var outcome: Outcome
        var statesExplored: Int
        /// The longest sequence of operations that could be placed; for a failure it is where the
        /// search got stuck deepest.
        var longestPrefix: [Int]
        /// At that point: the operation whose return came with nothing placeable before it…
        var blockingOperation: Int?
        /// …the operations that could have gone next (called before that return) and did not fit…
        var candidates: [Int]
        /// …and the model state after the prefix.
        var stateAfterPrefix: ModelState
        /// The general lock model as the search left it (it knows every state the search reached).
        var locks: LockModel
    }

    private let operations: [KeyHistory.Operation]
    private let stateLimit: Int
    private var locks: LockModel
    private var list: EventList
    private var visited = VisitedSet()
    private var frontier: [Int32] = []
    /// Operations with a known return not placed yet; the search succeeds when none are left.
    private var knownRemaining: Int
    /// The backtracking stack: the call event placed, the state before it, and whether it was a forced
    /// read rather than a choice among candidates.
    private var placed: [(event: Int32, stateBefore: ModelState, isForced: Bool)] = []
    private var deepest: Result

    /// `operations` must be sorted by call; `locks` is the key's general lock model, if it has one.
    init(operations: [KeyHistory.Operation], locks: LockModel, stateLimit: Int) {
        self.operations = operations
        self.locks = locks
        self.stateLimit = stateLimit
        knownRemaining = operations.count { !$0.hasUnknownOutcome }
        list = EventList(intervals: operations.map { ($0.call, $0.returnTime) })
        deepest = Result(
            outcome: .notLinearizable, statesExplored: 0, longestPrefix: [],
            blockingOperation: nil, candidates: [], stateAfterPrefix: .initial, locks: locks
        )
    }
}

// MARK: - The search

extension LinearizationSearch {
    /// Runs the search to its end: a linearization, proof that none exists, or the state limit.
    mutating func run() -> Result {
        var state = ModelState.initial
        var event = list.first
        var isNewConfiguration = true
        while knownRemaining > 0 {
            if isNewConfiguration, let read = firstFittingRead(in: state) {
                // A read that fits now goes now: if this fails, so does every other order from here.
                if place(read, from: state, to: state) {
                    placed.append((read, state, true))
                    if visited.count > stateLimit { return finish(.budgetExhausted, state: state) }
                    event = list.first
                    continue
                }
                event = list.frontier(into: &frontier)
            }
            isNewConfiguration = false
            if list.isCall(event) {
                let operation = list.operation(of: event)
                if let next = operations[operation].effect.apply(to: state, locks: &locks), place(event, from: state, to: next) {
                    placed.append((event, state, false))
                    state = next
                    if visited.count > stateLimit { return finish(.budgetExhausted, state: state) }
                    event = list.first
                    isNewConfiguration = true
                } else {
                    event = list.next(after: event)
                }
            } else {
                noteDeadEnd(at: event, state: state)
                guard let resumeAfter = backtrack(&state) else { return finish(.notLinearizable, state: state) }
                event = list.next(after: resumeAfter)
            }
        }
        return finish(.linearizable, state: state)
    }

    /// Undoes placements up to and including the latest one that was a choice (not a forced read);
    /// returns that choice's call event, after which the scan goes on, or `nil` when there is none.
    private mutating func backtrack(_ state: inout ModelState) -> Int32? {
        while let (call, stateBefore, isForced) = placed.popLast() {
            state = stateBefore
            unplace(call)
            if !isForced { return call }
        }
        return nil
    }

    /// The first call in the frontier whose operation is read-only and fits `state`.
    private mutating func firstFittingRead(in state: ModelState) -> Int32? {
        var event = list.first
        while list.isCall(event) {
            let effect = operations[list.operation(of: event)].effect
            if effect.isReadOnly && effect.apply(to: state, locks: &locks) != nil { return event }
            event = list.next(after: event)
        }
        return nil
    }

    /// Places the operation of `call` if it may go here: one with unknown outcome must change the
    /// state, and the new configuration must not have been visited. Completing the search needs no memo.
    private mutating func place(_ call: Int32, from state: ModelState, to next: ModelState) -> Bool {
        let isKnown = !operations[list.operation(of: call)].hasUnknownOutcome
        guard isKnown || next != state else { return false }
        list.lift(call)
        if isKnown { knownRemaining -= 1 }
        if knownRemaining == 0 { return true }
        list.frontier(into: &frontier)
        if visited.insert(frontier: frontier, state: next) { return true }
        unplace(call)
        return false
    }

    private mutating func unplace(_ call: Int32) {
        list.unlift(call)
        if !operations[list.operation(of: call)].hasUnknownOutcome { knownRemaining += 1 }
    }
}

// MARK: - Reporting

extension LinearizationSearch {
    /// Remembers the deepest point where the search got stuck, for the report.
    private mutating func noteDeadEnd(at boundary: Int32, state: ModelState) {
        if deepest.blockingOperation != nil && placed.count <= deepest.longestPrefix.count { return }
        let blocking = list.operation(of: boundary)
        deepest.longestPrefix = placed.map { list.operation(of: $0.event) }
        deepest.blockingOperation = blocking
        list.frontier(into: &frontier)
        deepest.candidates = frontier.map(Int.init).filter { $0 != blocking }
        deepest.stateAfterPrefix = state
    }

    private mutating func finish(_ outcome: Outcome, state: ModelState) -> Result {
        var result = deepest
        result.outcome = outcome
        result.statesExplored = visited.count
        result.locks = locks
        if outcome == .linearizable || (outcome == .budgetExhausted && placed.count > result.longestPrefix.count) {
            result.longestPrefix = placed.map { list.operation(of: $0.event) }
            result.stateAfterPrefix = state
            result.blockingOperation = nil
            result.candidates = []
        }
        return result
    }
}
