import Testing
@testable import ConclaveServer

/// One connection's commands take effect in its order: reads wait for the writes before them and
/// writes for the reads before them; commands of one kind run together.
struct CommandOrderTests {
    final class Log {
        var started: [String] = []
    }

    private func admit(_ order: inout CommandOrder, _ kind: CommandOrder.Kind, _ name: String, _ log: Log) {
        if order.admit(kind, start: { log.started.append(name) }) { log.started.append(name) }
    }

    private func finish(_ order: inout CommandOrder) {
        for start in order.finished() { start() }
    }

    @Test("writes run together; a read behind them waits for all, and the writes behind it wait for it")
    func alternation() {
        var order = CommandOrder()
        let log = Log()
        admit(&order, .write, "SET a", log)
        admit(&order, .write, "SET b", log)
        admit(&order, .read, "GET a", log)
        admit(&order, .read, "GET b", log)
        admit(&order, .write, "DEL a", log)
        admit(&order, .read, "GET c", log)
        #expect(log.started == ["SET a", "SET b"])
        #expect(order.heldCount == 4)
        finish(&order)
        #expect(log.started == ["SET a", "SET b"], "one write still runs")
        finish(&order)
        #expect(log.started == ["SET a", "SET b", "GET a", "GET b"])
        finish(&order)
        finish(&order)
        #expect(log.started == ["SET a", "SET b", "GET a", "GET b", "DEL a"])
        finish(&order)
        #expect(log.started.last == "GET c")
        finish(&order)
        #expect(order.running == 0 && order.heldCount == 0)
        #expect(order.finished().isEmpty, "a stray finish changes nothing")
    }

    @Test("a command of the running kind waits behind a held one (first in, first out)")
    func fifo() {
        var order = CommandOrder()
        let log = Log()
        admit(&order, .read, "GET", log)
        admit(&order, .write, "SET", log)
        admit(&order, .read, "GET again", log)
        #expect(log.started == ["GET"], "the second read may not overtake the held write")
        finish(&order)
        #expect(log.started == ["GET", "SET"])
        finish(&order)
        #expect(log.started == ["GET", "SET", "GET again"])
    }

    @Test("a blocking acquire runs alone: the writes before it finish first, nothing after it starts until it is answered")
    func alone() {
        var order = CommandOrder()
        let log = Log()
        admit(&order, .write, "SET", log)
        admit(&order, .alone, "LOCK.ACQUIRE", log)
        admit(&order, .write, "LOCK.TRY", log)
        admit(&order, .alone, "LOCK.ACQUIRE again", log)
        #expect(log.started == ["SET"])
        finish(&order)
        #expect(log.started == ["SET", "LOCK.ACQUIRE"])
        finish(&order)
        #expect(log.started == ["SET", "LOCK.ACQUIRE", "LOCK.TRY"], "the write behind the acquire waited for its answer")
        finish(&order)
        #expect(log.started.last == "LOCK.ACQUIRE again", "two blocking acquires never run at once")
        finish(&order)
        #expect(order.running == 0 && order.heldCount == 0)
    }

    @Test("a long alternation keeps the held list bounded by what is held")
    func compaction() {
        var order = CommandOrder()
        let log = Log()
        admit(&order, .write, "w", log)
        for round in 0..<10_000 {
            admit(&order, round % 2 == 0 ? .read : .write, "c\(round)", log)
            finish(&order)
        }
        #expect(log.started.count == 10_001)
        #expect(order.heldCount == 0)
    }
}
