/// What a cell means, not what colour it is: themes map roles to colours, so a view never names a
/// colour and the monochrome theme can still tell a leader from a follower (bold, reverse).
public enum Role: UInt8, CaseIterable, Sendable {
    case text, dim, title, border, focus, header, footer, tab, tabActive, hint, alert, highlight, palette
    case nodeLeader, nodeFollower, nodeCandidate, nodeLearner, nodeDown, nodePaused
    case linkOK, linkCut, barFill, barEmpty
    case lockHeld, lockWaiting, lockFree
    case breakerClosed, breakerOpen, breakerHalfOpen
    case limiterAllowed, limiterRefused
    case idTimestamp, idDatacenter, idWorker, idSequence
    case logFault, logElection, logInfo, narration

    /// The name a theme file uses for the role (`node.leader`, `chrome.focus`, …).
    public var themeKey: String {
        switch self {
        case .text: return "text"
        case .dim: return "text.dim"
        case .title: return "chrome.title"
        case .border: return "chrome.border"
        case .focus: return "chrome.focus"
        case .header: return "chrome.header"
        case .footer: return "chrome.footer"
        case .tab: return "chrome.tab"
        case .tabActive: return "chrome.tab.active"
        case .hint: return "chrome.hint"
        case .alert: return "chrome.alert"
        case .highlight: return "chrome.highlight"
        case .palette: return "chrome.palette"
        case .nodeLeader: return "node.leader"
        case .nodeFollower: return "node.follower"
        case .nodeCandidate: return "node.candidate"
        case .nodeLearner: return "node.learner"
        case .nodeDown: return "node.down"
        case .nodePaused: return "node.paused"
        case .linkOK: return "link.ok"
        case .linkCut: return "link.partitioned"
        case .barFill: return "bar.fill"
        case .barEmpty: return "bar.empty"
        case .lockHeld: return "lock.held"
        case .lockWaiting: return "lock.waiting"
        case .lockFree: return "lock.free"
        case .breakerClosed: return "breaker.closed"
        case .breakerOpen: return "breaker.open"
        case .breakerHalfOpen: return "breaker.halfopen"
        case .limiterAllowed: return "limiter.allowed"
        case .limiterRefused: return "limiter.refused"
        case .idTimestamp: return "id.timestamp"
        case .idDatacenter: return "id.datacenter"
        case .idWorker: return "id.worker"
        case .idSequence: return "id.sequence"
        case .logFault: return "log.fault"
        case .logElection: return "log.election"
        case .logInfo: return "log.info"
        case .narration: return "demo.narration"
        }
    }

    /// Roles by theme key, for the theme parser.
    public static let byThemeKey: [String: Role] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.themeKey, $0) })
}
