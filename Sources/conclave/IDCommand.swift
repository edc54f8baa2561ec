import ArgumentParser
import ConclaveIDs
import Foundation

/// `conclave id …`: tools for Snowflake IDs.
struct IDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id",
        abstract: "Snowflake ID tools.",
        subcommands: [IDDecodeCommand.self]
    )
}

/// `conclave id decode ID`: the fields of an ID under a layout and an epoch.
struct IDDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print the timestamp, datacenter, worker and sequence of a Snowflake ID.",
        discussion: "Exit status: 0 decoded; 2 for a bad ID, layout or epoch."
    )

    static let idAccepted = "a decimal integer from 0 to \(UInt64.max >> 1) (63 bits)"
    /// The last millisecond ISO 8601 dates are printed for: 9999-12-31T23:59:59.999Z.
    static let dateMillisMax: UInt64 = 253_402_300_799_999

    @Argument(help: "The ID: \(idAccepted).")
    var id: String

    @Option(help: "Bit widths timestamp,datacenter,worker,sequence, summing to 63 (datacenter may be 0).")
    var layout = SnowflakeLayout.standard.description

    @Option(help: "The epoch, in milliseconds since 1970 (default: 2024-01-01T00:00:00Z).")
    var epoch = SnowflakeConfiguration.defaultEpochMillis

    func validate() throws {
        _ = try parsed()
    }

    /// The ID and layout, or a `ValidationError` naming the argument and what it accepts.
    private func parsed() throws -> (id: UInt64, layout: SnowflakeLayout) {
        guard let value = UInt64(id), value >> 63 == 0 else {
            throw ValidationError("ID must be \(Self.idAccepted), got '\(id)'")
        }
        let parsedLayout: SnowflakeLayout
        do {
            parsedLayout = try SnowflakeLayout(parsing: layout)
        } catch {
            throw ValidationError("--layout: \(error.description)")
        }
        let epochMax = SnowflakeConfiguration.epochMillisMax(for: parsedLayout)
        guard epoch <= epochMax else {
            throw ValidationError("--epoch must be at most \(epochMax) ms for layout \(parsedLayout), got \(epoch)")
        }
        return (value, parsedLayout)
    }

    func run() throws {
        let (value, parsedLayout) = try parsed()
        let fields = try parsedLayout.decode(value)
        let unixMillis = epoch + fields.timestampMillis
        let rows = [
            ("id", "\(value)"),
            ("layout", "\(parsedLayout) (timestamp,datacenter,worker,sequence bits)"),
            ("epoch", "\(epoch) ms (\(Self.utcDate(millis: epoch)))"),
            ("timestamp", "\(unixMillis) ms (\(Self.utcDate(millis: unixMillis))), \(fields.timestampMillis) ms after the epoch"),
            ("datacenter", "\(fields.datacenterID)"),
            ("worker", "\(fields.workerID)"),
            ("sequence", "\(fields.sequence)"),
        ]
        for (name, text) in rows {
            print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + text)
        }
    }

    /// `millis` since 1970 as an ISO 8601 UTC date with milliseconds. The milliseconds are appended
    /// from the integer, not taken from a `Double`, so they are exact.
    static func utcDate(millis: UInt64) -> String {
        guard millis <= dateMillisMax else { return "after year 9999" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let seconds = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(millis / 1_000)))
        return seconds.dropLast() + String(format: ".%03uZ", UInt32(millis % 1_000))
    }
}
