import Testing
@testable import ConclaveServer

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
