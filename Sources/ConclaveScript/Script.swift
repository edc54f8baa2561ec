/// A script body and its SHA-1 (hex, lowercase): the name Redis gives it.
public struct Script: Equatable, Hashable, Sendable {
    public let body: [UInt8]
    public let sha: String

    public init(body: [UInt8]) {
        self.body = body
        sha = SHA1.hex(body)
    }

    public init(_ source: String) { self.init(body: Array(source.utf8)) }
}

/// What running a script gave.
public struct ScriptResult: Equatable, Sendable {
    /// The reply for the client. When the script failed, an `.error` saying why.
    public var reply: ScriptReply
    /// Whether the script failed (it could not be compiled, raised an error, ran out of budget or
    /// memory, or returned a reply that cannot be sent). Its writes have been discarded already.
    /// A script that *returns* an error reply (`return redis.error_reply(…)`) has not failed.
    public var failed: Bool
    /// Instructions charged (VM instructions in steps of the hook period, plus metered library work).
    public var instructions: Int

    public init(reply: ScriptReply, failed: Bool, instructions: Int) {
        self.reply = reply
        self.failed = failed
        self.instructions = instructions
    }
}
