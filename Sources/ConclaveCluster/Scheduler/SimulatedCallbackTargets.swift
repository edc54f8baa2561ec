import ConclaveCore

/// The simulator's callback targets: each answers after a latency drawn uniformly from its
/// `CallbackBehavior` and fails with its `failurePermille`, from one seeded stream for the whole
/// cluster (its own, so runs without delay tasks replay exactly as before it existed).
final class SimulatedCallbackTargets: CallbackTargets {
    let settings: SchedulerSettings
    private var random: SeededGenerator

    init(settings: SchedulerSettings, random: SeededGenerator) {
        self.settings = settings
        self.random = random
    }

    func call(_ target: String) -> CallbackCall? {
        let behavior = settings.targets[target] ?? settings.defaultTarget
        let spread = behavior.latencyMaxNanos - behavior.latencyMinNanos
        let duration = behavior.latencyMinNanos + (spread > 0 ? random.next() % (spread + 1) : 0)
        let fails = random.next() % 1_000 < behavior.failurePermille
        return CallbackCall(durationNanos: duration, fails: fails)
    }
}
