// swift-tools-version: 6.0
// Conclave: a terminal operations console for distributed coordination.
// Targets import only downward (../shared/DESIGN.md, "Layers"): cores <- runtime <- console <- executable.
import PackageDescription

let package = Package(
    name: "Conclave",
    products: [
        .executable(name: "conclave", targets: ["conclave"]),
        // One client API for locks, IDs, throttles, delay queues and config over Conclave, etcd
        // and Redis (#16).
        .library(name: "ConclaveClient", targets: ["ConclaveClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // The only door to ncurses; the console backend (a later issue) is its sole importer.
        .systemLibrary(
            name: "CNCurses",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]
        ),

        // Lua 5.1, as Redis embeds it, for EVAL: the system library and the C bridge that is its
        // only user (Swift never calls the Lua API; see Sources/CLuaBridge/include/CLuaBridge.h).
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.1",
            providers: [.apt(["liblua5.1-0-dev"])]
        ),
        .target(name: "CLuaBridge", dependencies: ["CLua"], linkerSettings: [.linkedLibrary("m")]),

        // Layer 1: pure cores. No I/O, no threads, no wall clock, no global randomness.
        .target(name: "ConclaveCore"),
        // Scripts: a sandboxed Lua with a deterministic instruction budget and memory cap, the
        // script cache and SHA-1. Pure computation like the other cores.
        .target(name: "ConclaveScript", dependencies: ["ConclaveCore", "CLuaBridge"]),
        .target(name: "ConclaveRaft", dependencies: ["ConclaveCore"]),
        // Paxos beside Raft (#17): single-decree and Multi-Paxos as a pure state machine.
        .target(name: "ConclavePaxos", dependencies: ["ConclaveCore"]),
        .target(name: "ConclaveResilience", dependencies: ["ConclaveCore"]),
        .target(name: "ConclaveIDs", dependencies: ["ConclaveCore"]),
        .target(name: "ConclaveTimers", dependencies: ["ConclaveCore"]),
        // The replicated state machine sits above the other cores (a change from DESIGN.md's order,
        // see README "Layers"): the delay-task table keeps its deadlines in a timer heap, partitions
        // tasks with the consistent-hash ring and meters cluster-wide throttles with GCRA; EVAL runs
        // scripts in ConclaveScript's Lua.
        .target(
            name: "ConclaveCoordination",
            dependencies: ["ConclaveCore", "ConclaveTimers", "ConclaveIDs", "ConclaveResilience", "ConclaveScript"]
        ),

        // Layer 2: runtime. The deterministic simulator, history recorder, nemesis and checker.
        .target(
            name: "ConclaveCluster",
            dependencies: [
                "ConclaveCore", "ConclaveRaft", "ConclavePaxos", "ConclaveCoordination", "ConclaveIDs", "ConclaveTimers",
                "ConclaveResilience",
            ]
        ),
        // Durable storage: WAL segments, group commit, snapshots, recovery, over a file-system seam
        // with a POSIX implementation and a seeded fault-injecting one for tests and the simulator.
        .target(name: "ConclaveStorage", dependencies: ["ConclaveCore", "ConclaveRaft"]),

        // Wire formats, pure: RESP2/RESP3 for clients, binary frames for peers.
        .target(name: "ConclaveWire", dependencies: ["ConclaveCore", "ConclaveRaft"]),
        // Real sockets (SwiftNIO): the peer transport, the client port, and the daemon that drives
        // the runtime's `NodeCore` on them and on the WAL (`conclave node`).
        .target(
            name: "ConclaveServer",
            dependencies: [
                "ConclaveCore", "ConclaveRaft", "ConclaveWire", "ConclaveCoordination", "ConclaveCluster", "ConclaveStorage",
                "ConclaveScript",
                "ConclaveIDs", "ConclaveResilience",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),

        // The client API (#16): one protocol family over Conclave's nodes (RESP), etcd (its JSON
        // gateway) and Redis (one instance, or Redlock). Runtime: it opens sockets and threads.
        .target(name: "ConclaveClient", dependencies: ["ConclaveWire"]),

        // The lab: locks inside one process on real threads (mutex, try-lock, CAS, ticket, async),
        // measured. Runtime, not a core: it starts threads and reads clocks.
        .target(
            name: "ConclaveLab",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")]
        ),

        // Layer 3: the console. `ConclaveConsole` is pure (state, update, render, keymap, palette,
        // themes, the embedded cluster driven by virtual time); `ConclaveTerminal` holds the backends
        // and is the only importer of CNCurses.
        .target(
            name: "ConclaveConsole",
            dependencies: [
                "ConclaveCore", "ConclaveRaft", "ConclavePaxos", "ConclaveCoordination", "ConclaveCluster", "ConclaveIDs",
                "ConclaveTimers", "ConclaveResilience", "ConclaveWire", "ConclaveClient",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // ncurses is a C library of process-wide globals (stdscr, COLORS, COLOR_PAIRS); Swift 6 mode
        // refuses every read of them, so this one target stays in Swift 5 mode. Only the UI thread
        // touches ncurses.
        .target(
            name: "ConclaveTerminal", dependencies: ["ConclaveConsole", "CNCurses"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),

        // Layer 4: the executable.
        .executableTarget(
            name: "conclave",
            dependencies: [
                "ConclaveCore", "ConclaveRaft", "ConclavePaxos", "ConclaveCoordination", "ConclaveCluster", "ConclaveResilience",
                "ConclaveIDs",
                "ConclaveTimers", "ConclaveConsole", "ConclaveTerminal", "ConclaveStorage", "ConclaveServer", "ConclaveWire",
                "ConclaveLab", "ConclaveClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),

        .testTarget(name: "ConclaveCoreTests", dependencies: ["ConclaveCore"]),
        .testTarget(name: "ConclaveScriptTests", dependencies: ["ConclaveCore", "ConclaveScript"]),
        .testTarget(name: "ConclaveRaftTests", dependencies: ["ConclaveCore", "ConclaveRaft"]),
        .testTarget(name: "ConclavePaxosTests", dependencies: ["ConclaveCore", "ConclavePaxos"]),
        .testTarget(
            name: "ConclaveCoordinationTests",
            dependencies: ["ConclaveCore", "ConclaveCoordination", "ConclaveTimers", "ConclaveResilience", "ConclaveScript"]
        ),
        .testTarget(name: "ConclaveResilienceTests", dependencies: ["ConclaveCore", "ConclaveResilience"]),
        .testTarget(name: "ConclaveIDsTests", dependencies: ["ConclaveCore", "ConclaveIDs"]),
        .testTarget(name: "ConclaveTimersTests", dependencies: ["ConclaveCore", "ConclaveTimers"]),
        .testTarget(
            name: "ConclaveClusterTests",
            dependencies: [
                "ConclaveCore", "ConclaveRaft", "ConclavePaxos", "ConclaveCoordination", "ConclaveCluster", "ConclaveIDs", "ConclaveTimers",
                "ConclaveResilience",
            ]
        ),
        .testTarget(name: "ConclaveLabTests", dependencies: ["ConclaveLab"]),
        .testTarget(
            name: "ConclaveClientTests",
            dependencies: [
                "ConclaveClient", "ConclaveWire", "ConclaveServer", "ConclaveCluster", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ConclaveStorageTests", dependencies: ["ConclaveCore", "ConclaveRaft", "ConclaveStorage"]),
        .testTarget(
            name: "ConclaveConsoleTests",
            dependencies: ["ConclaveCore", "ConclaveCluster", "ConclaveConsole", "ConclaveWire", "ConclaveClient"],
            exclude: ["Golden"]
        ),
        .testTarget(name: "ConclaveTerminalTests", dependencies: ["ConclaveConsole", "ConclaveTerminal"]),
        .testTarget(name: "ConclaveWireTests", dependencies: ["ConclaveCore", "ConclaveRaft", "ConclaveWire"]),
        .testTarget(
            name: "ConclaveServerTests",
            dependencies: [
                "ConclaveCore", "ConclaveRaft", "ConclaveWire", "ConclaveServer", "ConclaveCoordination", "ConclaveStorage",
                "ConclaveScript",
                "ConclaveResilience",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
