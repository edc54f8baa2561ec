/// The Local view's model: locks inside the console's own process, measured by its host.
///
/// The console is pure and runs no threads, so it does not run the lab: it says what it wants
/// measured (`ConsoleCommand.lab(settings)`, nil when the Local view is left) and the host, which
/// runs each strategy on real threads in turn, feeds back one `LocalLabFigures` per run.
public struct LocalLabSettings: Equatable, Sendable {
    /// The thread counts `[` and `]` step through.
    public static let threadSteps = [1, 2, 4, 8, 16, 32, 64]
    /// The critical-section lengths `<` and `>` step through, nanoseconds.
    public static let criticalNanosSteps: [UInt64] = [0, 100, 1_000, 10_000, 100_000]

    public var threads = 8
    public var criticalNanos: UInt64 = 100
    public var thinkNanos: UInt64 = 100

    public init(threads: Int = 8, criticalNanos: UInt64 = 100, thinkNanos: UInt64 = 100) {
        self.threads = threads
        self.criticalNanos = criticalNanos
        self.thinkNanos = thinkNanos
    }

    /// The next step up or down from the current value (a value between steps goes to its neighbour).
    mutating func step(_ adjustment: LabAdjustment) {
        switch adjustment {
        case .moreThreads: threads = Self.threadSteps.first { $0 > threads } ?? threads
        case .fewerThreads: threads = Self.threadSteps.last { $0 < threads } ?? threads
        case .longerSection: criticalNanos = Self.criticalNanosSteps.first { $0 > criticalNanos } ?? criticalNanos
        case .shorterSection: criticalNanos = Self.criticalNanosSteps.last { $0 < criticalNanos } ?? criticalNanos
        }
    }
}

/// What the Local view's keys change.
public enum LabAdjustment: String, Equatable, Sendable {
    case moreThreads, fewerThreads, longerSection, shorterSection
}

/// One strategy's latest run, as the host measured it.
public struct LocalLabFigures: Equatable, Sendable {
    /// The strategy's command-line name (`mutex`, `spin`, …): rows are kept per name.
    public var strategy: String
    public var title: String
    /// One line on why it costs what it costs.
    public var note: String
    public var settings: LocalLabSettings
    public var operationsPerSecond: Double
    public var wastedShare: Double
    public var p50Nanos: UInt64
    public var p99Nanos: UInt64
    public var failedPerSuccess: Double
    public var fairness: Double
    public var lostUpdates: Int
    /// Operations per thread, in thread order.
    public var perThread: [Int]

    public init(strategy: String, title: String, note: String, settings: LocalLabSettings, operationsPerSecond: Double,
                wastedShare: Double, p50Nanos: UInt64, p99Nanos: UInt64, failedPerSuccess: Double, fairness: Double,
                lostUpdates: Int, perThread: [Int]) {
        self.strategy = strategy
        self.title = title
        self.note = note
        self.settings = settings
        self.operationsPerSecond = operationsPerSecond
        self.wastedShare = wastedShare
        self.p50Nanos = p50Nanos
        self.p99Nanos = p99Nanos
        self.failedPerSuccess = failedPerSuccess
        self.fairness = fairness
        self.lostUpdates = lostUpdates
        self.perThread = perThread
    }
}

/// The settings asked for and the latest figures per strategy, in the order they first arrived,
/// with each strategy's p99 over its last runs for the sparkline.
public struct LocalLabState: Equatable, Sendable {
    public static let historyMax = 120
    public static let strategiesMax = 16

    public var settings = LocalLabSettings()
    public private(set) var figures: [LocalLabFigures] = []
    public private(set) var p99History: [String: [Double]] = [:]

    public init() {}

    mutating func absorb(_ new: LocalLabFigures) {
        if let index = figures.firstIndex(where: { $0.strategy == new.strategy }) {
            figures[index] = new
        } else if figures.count < Self.strategiesMax {
            figures.append(new)
        } else {
            return
        }
        var history = p99History[new.strategy, default: []]
        history.append(Double(new.p99Nanos))
        if history.count > Self.historyMax { history.removeFirst(history.count - Self.historyMax) }
        p99History[new.strategy] = history
    }
}
