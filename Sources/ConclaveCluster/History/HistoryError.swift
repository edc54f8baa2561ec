/// A line of a history file that does not follow `../shared/HISTORY.md`.
///
/// `message` says what is wrong and what would be accepted; `description` prefixes the 1-based line
/// number, e.g. `line 7: field "call" must be an integer, got "abc"`.
public struct HistoryError: Error, Equatable, CustomStringConvertible {
    /// The 1-based line number in the history file.
    public var lineNumber: Int
    public var message: String

    public init(lineNumber: Int, message: String) {
        self.lineNumber = lineNumber
        self.message = message
    }

    public var description: String { "line \(lineNumber): \(message)" }
}
