import Testing
@testable import ConclaveConsole

/// The Scheduler view's heap tree: children under their parent, joined by one connector row.
struct SchedulerViewTests {
    @Test("a 4-ary heap: the root's connector joins it (┴) to its four children (┌ ┬ ┬ ┐); levels stop where labels no longer fit")
    func fourAryTree() {
        let levels: [[UInt64]] = [[1], [2, 3, 4, 5], Array(6...21)]
        let rows = SchedulerView.heapRows(levels, arity: 4, width: 56, height: 20)
        #expect(rows.count == 3, "root, connector, children; the third level (3.5 columns a node) is not drawn")
        let connector = Array(rows[1].text)
        #expect(rows[1].isConnector)
        #expect(connector[7] == "┌" && connector[21] == "┬" && connector[28] == "┴" && connector[35] == "┬" && connector[49] == "┐")
        #expect(connector[0..<7].allSatisfy { $0 == " " } && connector[50...].allSatisfy { $0 == " " })
        #expect(connector[8..<21].allSatisfy { $0 == "─" })
        #expect(rows[2].labels.map(\.deadline) == [2, 3, 4, 5])
        #expect(rows[2].labels.map(\.x) == [5, 19, 33, 47], "each label centred on its child's column")
    }

    @Test("wide enough, every parent gets its own connector; a lone last child hangs under a corner")
    func deeperLevels() {
        let levels: [[UInt64]] = [[1], [2, 3], [4, 5, 6]]
        let rows = SchedulerView.heapRows(levels, arity: 2, width: 40, height: 20)
        #expect(rows.count == 5)
        let last = Array(rows[3].text)
        // Level 1 centres 10 and 30; level 2 centres 5, 15, 25.
        #expect(last[5] == "┌" && last[10] == "┴" && last[15] == "┐")
        #expect(last[25] == "┌" && last[30] == "┘", "node 3's only child joins it with a corner")
        #expect(SchedulerView.heapRows(levels, arity: 2, width: 40, height: 2).count == 1, "no connector left dangling at the bottom")
    }
}
