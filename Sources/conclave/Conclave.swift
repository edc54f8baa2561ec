import ArgumentParser
import Foundation

/// The `conclave` command line. Usage errors (unknown flags, bad values) exit with status 2 and a
/// message naming the flag and what it accepts.
@main
struct Conclave: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conclave",
        abstract: "A terminal operations console for distributed coordination.",
        subcommands: [
            ConsoleCommand.self, DemoCommand.self, ChaosCommand.self, CheckCommand.self, BenchCommand.self, IDCommand.self, WALCommand.self,
            NodeCommand.self, StatusCommand.self, LabCommand.self,
        ],
        defaultSubcommand: ConsoleCommand.self
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
