/// The `/` filter: a substring (case-insensitive), or with a leading `~` a regular expression.
public enum ConsoleFilter {
    public static func matches(_ filter: String, _ text: String) -> Bool {
        guard !filter.isEmpty else { return true }
        if filter.hasPrefix("~") {
            guard let regex = try? Regex(String(filter.dropFirst())) else { return false }
            return (try? regex.firstMatch(in: text)) != nil
        }
        return text.lowercased().contains(filter.lowercased())
    }

    public static func apply(_ filter: String, to texts: [String]) -> [String] {
        guard !filter.isEmpty else { return texts }
        if filter.hasPrefix("~") {
            guard let regex = try? Regex(String(filter.dropFirst())) else { return [] }
            return texts.filter { (try? regex.firstMatch(in: $0)) != nil }
        }
        let lowered = filter.lowercased()
        return texts.filter { $0.lowercased().contains(lowered) }
    }

    /// What is wrong with the filter, if anything (a regex that does not compile).
    public static func problem(_ filter: String) -> String? {
        guard filter.hasPrefix("~") else { return nil }
        do {
            _ = try Regex(String(filter.dropFirst()))
            return nil
        } catch {
            return "bad regex '\(filter.dropFirst())': \(error); a leading ~ means regex, without it a substring"
        }
    }
}
