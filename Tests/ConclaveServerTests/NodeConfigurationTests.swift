@testable import ConclaveServer
import ConclaveWire
import Testing

@Suite struct NodeConfigurationTests {
    static func flags(_ pairs: [String: String]) -> NodeConfiguration.Settings {
        var settings = NodeConfiguration.Settings()
        settings.id = pairs["id"]
        settings.data = pairs["data"]
        settings.peerListen = pairs["peer-listen"]
        settings.clientListen = pairs["client-listen"]
        settings.peers = pairs["peers"]
        settings.token = pairs["token"]
        settings.logLevel = pairs["log-level"]
        settings.maxClients = pairs["max-clients"]
        settings.clientIdleTimeoutSeconds = pairs["client-idle-timeout-seconds"]
        return settings
    }

    static let good = [
        "id": "1", "data": "/tmp/n1", "peer-listen": "127.0.0.1:7101", "client-listen": "127.0.0.1:6381",
        "peers": "1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103",
    ]

    @Test("flags validate into a configuration")
    func flagsOnly() throws {
        let configuration = try NodeConfiguration(validating: Self.flags(Self.good))
        #expect(configuration.id == 1 && configuration.peers.count == 3 && configuration.logLevel == "info")
        #expect(try configuration.clusterID == NodeConfiguration(validating: Self.flags(Self.good)).clusterID)
    }

    @Test("each bad or missing setting is named with what is accepted", arguments: [
        ("id", nil, "missing --id"),
        ("id", "0", "--id '0': accepted: a number in 1…31"),
        ("data", nil, "missing --data"),
        ("peers", "2=127.0.0.1:7102,3=127.0.0.1:7103", "--peers does not list this node (1)"),
        ("peers", "1=127.0.0.1:7101,1=127.0.0.1:7102", "--peers names node 1 twice"),
        ("peers", "1=127.0.0.1:7101,2=127.0.0.1:7101", "--peers gives 127.0.0.1:7101 to two nodes"),
        ("peers", "1=127.0.0.1:7101,x", "--peers item 'x'"),
        ("peer-listen", "127.0.0.1:7109", "they must agree"),
        ("peer-listen", "7101", "is not host:port"),
        ("client-listen", "127.0.0.1:7101", "are both 127.0.0.1:7101"),
        ("log-level", "loud", "--log-level 'loud'; accepted: trace"),
        ("max-clients", "0", "--max-clients '0': accepted: 1…100000"),
        ("max-clients", "many", "--max-clients 'many': accepted: 1…100000"),
        ("client-idle-timeout-seconds", "-1", "--client-idle-timeout-seconds '-1': accepted: 0…31536000 (0: never)"),
        ("client-idle-timeout-seconds", "31536001", "--client-idle-timeout-seconds '31536001': accepted: 0…31536000"),
        ("client-listen", "0.0.0.0:6381", "--client-listen 0.0.0.0:6381 is not a loopback address: a node that listens beyond 127.0.0.1 needs --token-file"),
        ("client-listen", "127.example.com:6381", "--client-listen 127.example.com:6381 is not a loopback address"),
        ("peer-listen", "10.0.0.1:7101", "--peer-listen 10.0.0.1:7101 is not a loopback address"),
    ] as [(String, String?, String)])
    func refusals(key: String, value: String?, expected: String) {
        var pairs = Self.good
        pairs[key] = value
        do {
            _ = try NodeConfiguration(validating: Self.flags(pairs))
            Issue.record("accepted \(key)=\(value ?? "nil")")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test("listening beyond loopback needs a cluster token")
    func tokenBeyondLoopback() throws {
        var pairs = Self.good
        pairs["client-listen"] = "0.0.0.0:6381"
        #expect(throws: ServerInputError.self) { try NodeConfiguration(validating: Self.flags(pairs)) }
        pairs["token"] = "s3cret"
        #expect(try NodeConfiguration(validating: Self.flags(pairs)).token == "s3cret")
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1"] { #expect(NodeConfiguration.isLoopback(host), "\(host)") }
        for host in ["0.0.0.0", "127.example.com", "127.0.0", "1.127.0.0", "127.0.0.1000", "::"] {
            #expect(!NodeConfiguration.isLoopback(host), "\(host)")
        }
    }

    @Test("client limits: max clients and the idle timeout, from flags or the file; defaults 10000 and off")
    func clientLimits() throws {
        let defaults = try NodeConfiguration(validating: Self.flags(Self.good))
        #expect(defaults.clientsMax == 10_000 && defaults.clientIdleTimeoutSeconds == 0)
        var pairs = Self.good
        pairs["max-clients"] = "64"
        pairs["client-idle-timeout-seconds"] = "300"
        let set = try NodeConfiguration(validating: Self.flags(pairs))
        #expect(set.clientsMax == 64 && set.clientIdleTimeoutSeconds == 300)
        let (file, _) = try NodeConfiguration.settings(fromTOML: "max-clients = 5\nclient-idle-timeout-seconds = 9\n", file: "n.toml")
        #expect(file.maxClients == "5" && file.clientIdleTimeoutSeconds == "9")
    }

    @Test("a TOML config gives the same settings; flags win over it; errors name file, line and key")
    func toml() throws {
        let text = """
        id = 2
        data = "/tmp/n2"
        peer-listen = "127.0.0.1:7102"
        client-listen = "127.0.0.1:6382"
        cluster = "lab"
        token-file = "/etc/token"

        [peers]
        1 = "127.0.0.1:7101"
        2 = "127.0.0.1:7102"
        3 = "127.0.0.1:7103"
        """
        let (fromFile, tokenFile) = try NodeConfiguration.settings(fromTOML: text, file: "node.toml")
        #expect(tokenFile == "/etc/token")
        var flags = NodeConfiguration.Settings()
        flags.logLevel = "debug"
        let configuration = try NodeConfiguration(validating: flags.over(fromFile))
        #expect(configuration.id == 2 && configuration.clusterName == "lab" && configuration.logLevel == "debug")
        #expect(configuration.peers[3] == PeerAddress(host: "127.0.0.1", port: 7103))
        #expect(throws: ServerInputError.self) { try NodeConfiguration.settings(fromTOML: "id = \n", file: "bad.toml") }
        do {
            _ = try NodeConfiguration.settings(fromTOML: "id = \n", file: "bad.toml")
        } catch {
            #expect(error.description.hasPrefix("bad.toml:1:"))
        }
        do {
            _ = try NodeConfiguration.settings(fromTOML: "colour = \"red\"\n", file: "bad.toml")
        } catch {
            #expect(error.description.contains("unknown key 'colour'; accepted: id, data"))
        }
    }
}
