import CLuaBridge

/// One sandboxed Lua state of the C bridge (CLuaBridge.h), owned: closed when released. Every call
/// into it is protected on the C side, so nothing here can be crossed by a Lua error. Used by one
/// engine on one thread at a time.
final class LuaSandbox {
    private let lua: OpaquePointer
    let limits: ScriptLimits

    /// Nil if the state cannot be set up within its heap cap (limits too small to hold Lua itself).
    init?(limits: ScriptLimits) {
        var bridgeLimits = conclave_lua_limits(
            instruction_budget: Int64(limits.instructionBudget),
            heap_cap_bytes: 2 * limits.memoryCapBytes + limits.compiledBytesMax + (16 << 20),
            reply_bytes_max: limits.replyBytesMax,
            sha1_hex: sha1HexThunk
        )
        guard let lua = conclave_lua_open(&bridgeLimits) else { return nil }
        self.lua = lua
        self.limits = limits
    }

    deinit { conclave_lua_close(lua) }

    /// Bytes the Lua heap holds now.
    var heapBytes: Int { conclave_lua_heap_bytes(lua) }

    enum Compiled: Equatable {
        case compiled
        /// Lua's message ("user_script:1: '=' expected near …").
        case syntaxError(String)
        case outOfMemory
    }

    func compile(name: String, body: [UInt8]) -> Compiled {
        let padded = body + [0] // never an empty buffer, so never a nil base address
        let status = padded.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in
                conclave_lua_compile(lua, name, characters.baseAddress, body.count)
            }
        }
        switch status {
        case CONCLAVE_LUA_OK: return .compiled
        case CONCLAVE_LUA_SYNTAX: return .syntaxError(String(decoding: output, as: UTF8.self))
        default: return .outOfMemory
        }
    }

    func forget(name: String) { conclave_lua_forget(lua, name) }

    /// What one run gave, as the bridge reports it.
    struct Run {
        var status: conclave_lua_status
        /// The encoded reply (OK) or the message (otherwise).
        var output: [UInt8]
        /// Where the error that ended the run was raised ("@user_script", line), when known.
        var location: (source: String, line: Int)?
        var instructions: Int
        var allocatedBytes: Int
    }

    func run(name: String, keys: [[UInt8]], arguments: [[UInt8]], allocationLimit: Int, caller: HostCaller) -> Run {
        var bytes: [UInt8] = []
        bytes.reserveCapacity((keys + arguments).reduce(1) { $0 + $1.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(keys.count + arguments.count)
        for argument in keys + arguments {
            bytes.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        bytes.append(0) // never an empty buffer, so never a nil base address
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in
                lengths.withUnsafeBufferPointer { lengthsBuffer in
                    conclave_lua_run(lua, name, characters.baseAddress, lengthsBuffer.baseAddress, Int32(keys.count),
                                     Int32(arguments.count), allocationLimit, hostCallThunk,
                                     Unmanaged.passUnretained(caller).toOpaque())
                }
            }
        }
        var source: UnsafePointer<CChar>?
        let line = Int(conclave_lua_error_location(lua, &source))
        let location = line >= 0 ? source.map { (String(cString: $0), line) } : nil
        return Run(status: status, output: output, location: location, instructions: Int(conclave_lua_instructions(lua)),
                   allocatedBytes: conclave_lua_allocated(lua))
    }

    /// Collects all garbage, between runs (never during one).
    func collect() { conclave_lua_collect(lua) }

    private var output: [UInt8] {
        var length = 0
        guard let bytes = conclave_lua_output(lua, &length), length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }
}

/// The object behind the `host` pointer of a run: runs the command and keeps its encoded reply
/// alive until the next command, as the bridge requires.
final class HostCaller {
    private let call: ([[UInt8]]) -> ScriptReply
    private var reply = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    init(_ call: @escaping ([[UInt8]]) -> ScriptReply) { self.call = call }

    deinit { reply.deallocate() }

    /// Runs the command and returns its encoded reply, valid until the next call.
    func answer(_ arguments: [[UInt8]]) -> UnsafeRawBufferPointer {
        let encoded = call(arguments).encoded()
        if reply.count < encoded.count {
            reply.deallocate()
            reply = .allocate(byteCount: max(encoded.count, 2 * reply.count, 256), alignment: 8)
        }
        reply.copyBytes(from: encoded)
        return UnsafeRawBufferPointer(start: reply.baseAddress, count: encoded.count)
    }
}

/// redis.call's way into Swift. It receives plain bytes and returns plain bytes; it never touches
/// the Lua state, so no Lua error can cross it (see CLuaBridge.h).
private let hostCallThunk: conclave_lua_host_call = { host, count, arguments, lengths, reply, replyLength in
    guard let host, let arguments, let lengths, let reply, let replyLength else { return }
    let caller = Unmanaged<HostCaller>.fromOpaque(host).takeUnretainedValue()
    var list: [[UInt8]] = []
    list.reserveCapacity(Int(count))
    for index in 0..<Int(count) {
        list.append(Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(arguments[index]), count: lengths[index])))
    }
    let answer = caller.answer(list)
    reply.pointee = answer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    replyLength.pointee = answer.count
}

private let sha1HexThunk: conclave_lua_sha1_hex = { bytes, length, hex in
    guard let hex else { return }
    let digest = SHA1.hex(UnsafeRawBufferPointer(start: UnsafeRawPointer(bytes), count: length))
    for (index, character) in digest.utf8.enumerated() { hex[index] = CChar(bitPattern: character) }
}
