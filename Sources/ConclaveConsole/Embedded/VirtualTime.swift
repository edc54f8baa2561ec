/// An embedded engine's virtual time as the operator sets it: paused or running, at a speed. A
/// single step is the engine's own (it knows what one event is).
struct VirtualTime: Equatable {
    var speed = 1.0
    var isPaused = false

    /// Pause, resume and speed; says what time does now.
    mutating func perform(_ time: TimeControl) throws(ControlError) -> String {
        switch time {
        case .pause: isPaused = true
        case .resume: isPaused = false
        case .toggle: isPaused.toggle()
        case .step: throw ControlError("a step is run by the engine, not the clock")
        case .speed(let value):
            guard TimeControl.speedRange.contains(value) else { throw ControlError("speed must be in 0.01…100, got \(value)") }
            speed = value
        case .faster: speed = min(TimeControl.speedRange.upperBound, speed * 2)
        case .slower: speed = max(TimeControl.speedRange.lowerBound, speed / 2)
        }
        switch time {
        case .speed, .faster, .slower: return "speed \(EmbeddedSpeed.text(speed))×"
        default: break
        }
        return isPaused ? "time paused" : "time running at \(EmbeddedSpeed.text(speed))×"
    }
}
