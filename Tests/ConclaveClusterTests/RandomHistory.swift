import ConclaveCluster
import ConclaveCore

/// Histories that are linearizable by construction: clients run concurrent windows (call, effect
/// point, return) and every effect is applied to a sequential register or lock in effect-point order.
///
/// Each client has one operation in flight; a window's effect point lies inside it, so the effect
/// order respects real time. About one operation in twenty loses its answer: its effect happens or not
/// (a coin), and the client goes on under a new number, as HISTORY.md requires. On a lock, the
/// abandoned number then gets an `expire`, which frees the lock if that number still holds it.
struct RandomHistory {
    private struct Window {
        var client: Int
        var call: UInt64
        var effectPoint: UInt64
    }

    private var generator: SeededGenerator
    private let answerLossProbability: Double
    private var operations: [HistoryOperation] = []
    private var clients: [Window] = []
    private var pendingExpiries: [(holder: Int, window: Window)] = []
    private var nextClientNumber = 0
    private var sequenceNumber = 0
    private var registerValue: String?
    private var writtenValues: [String] = []
    private var lockHolder: Int?
    private var lastToken: UInt64 = 0

    private init(seed: UInt64, stream: UInt64, clientCount: Int, answerLossProbability: Double) {
        generator = SeededGenerator(seed: seed, stream: stream)
        self.answerLossProbability = answerLossProbability
        for _ in 0..<clientCount { clients.append(newWindow(after: 0)) }
    }

    /// The sequential specification a history is generated from.
    enum Model: String, CaseIterable, Sendable {
        case register, lock
    }

    /// About `count` operations on `key` (the model's name by default) by `clientCount` concurrent
    /// clients; a lock history also holds the expiries of abandoned clients.
    static func generate(
        _ model: Model, seed: UInt64, key: String? = nil, clientCount: Int = 6, count: Int = 200,
        answerLossProbability: Double = 0.05
    ) -> [HistoryOperation] {
        let stream: UInt64 = model == .register ? 1 : 2
        var history = RandomHistory(seed: seed, stream: stream, clientCount: clientCount, answerLossProbability: answerLossProbability)
        let key = key ?? model.rawValue
        for _ in 0..<count {
            switch model {
            case .register: history.stepRegister(key: key)
            case .lock: history.stepLock(key: key)
            }
        }
        return history.operations
    }

    private mutating func newWindow(after time: UInt64) -> Window {
        nextClientNumber += 1
        return window(for: nextClientNumber, after: time)
    }

    private mutating func window(for client: Int, after time: UInt64) -> Window {
        let call = time + UInt64.random(in: 1...20, using: &generator)
        return Window(client: client, call: call, effectPoint: call + UInt64.random(in: 0...30, using: &generator))
    }

    /// The client whose effect point comes next (ties to the lowest slot).
    private func nextClientSlot() -> Int {
        clients.indices.min { clients[$0].effectPoint < clients[$1].effectPoint }!
    }

    /// Finishes the operation of the client in `slot`: records it with a return time (none when the
    /// answer was lost) and opens that client's next window, under a new number after a lost answer.
    private mutating func finish(_ operation: HistoryOperation, slot: Int, answerLost: Bool) {
        var operation = operation
        let window = clients[slot]
        let returnTime = window.effectPoint + UInt64.random(in: 0...30, using: &generator)
        operation.returnTime = answerLost ? nil : returnTime
        operations.append(operation)
        clients[slot] = answerLost ? newWindow(after: returnTime) : self.window(for: window.client, after: returnTime)
    }
}

// MARK: - Register

extension RandomHistory {
    private mutating func stepRegister(key: String) {
        let slot = nextClientSlot()
        let window = clients[slot]
        let answerLost = generator.chance(answerLossProbability)
        let takesEffect = !answerLost || generator.chance(0.5)
        var operation = HistoryOperation(client: window.client, kind: .get, key: key, call: window.call)
        switch UInt64.random(in: 0..<10, using: &generator) {
        case 0..<3:
            operation.kind = .put
            operation.value = freshValue(client: window.client)
            if takesEffect { registerValue = operation.value }
        case 3..<5:
            operation.kind = .cas
            operation.value = freshValue(client: window.client)
            operation.expected = generator.chance(0.6) ? registerValue : writtenValues.randomElement(using: &generator)
            operation.ok = operation.expected == registerValue
            if takesEffect && operation.ok { registerValue = operation.value }
        case 5:
            operation.kind = .delete
            if takesEffect { registerValue = nil }
        default:
            operation.output = registerValue
        }
        finish(operation, slot: slot, answerLost: answerLost)
    }

    private mutating func freshValue(client: Int) -> String {
        sequenceNumber += 1
        let value = "c\(client)-\(sequenceNumber)"
        writtenValues.append(value)
        return value
    }
}

// MARK: - Lock

extension RandomHistory {
    private mutating func stepLock(key: String) {
        if let expiry = pendingExpiries.indices.min(by: { pendingExpiries[$0].window.effectPoint < pendingExpiries[$1].window.effectPoint }),
           pendingExpiries[expiry].window.effectPoint <= clients[nextClientSlot()].effectPoint {
            let (holder, window) = pendingExpiries.remove(at: expiry)
            if lockHolder == holder { lockHolder = nil }
            operations.append(HistoryOperation(client: window.client, kind: .expire, key: key, holder: holder, call: window.call))
            return
        }
        let slot = nextClientSlot()
        let window = clients[slot]
        let answerLost = generator.chance(answerLossProbability)
        let takesEffect = !answerLost || generator.chance(0.5)
        var operation = HistoryOperation(client: window.client, kind: .acquire, key: key, call: window.call)
        if lockHolder == window.client || generator.chance(0.05) {
            operation.kind = .release
            operation.ok = lockHolder == window.client
            if takesEffect && operation.ok { lockHolder = nil }
        } else {
            operation.ok = lockHolder == nil
            if operation.ok && takesEffect {
                lastToken += UInt64.random(in: 1...3, using: &generator)
                operation.token = answerLost ? nil : lastToken
                lockHolder = window.client
            }
        }
        finish(operation, slot: slot, answerLost: answerLost)
        if answerLost {
            pendingExpiries.append((window.client, newWindow(after: window.call)))
        }
    }
}
