/// The fields of one parsed history line, turned into a `HistoryOperation` under HISTORY.md's rules.
///
/// Every error says which field is wrong, what it holds and what would be accepted. A known field
/// given twice is an error (which one would count is a guess); unknown fields are ignored.
struct HistoryLineFields {
    let fields: [FlatJSONField]
    let lineNumber: Int

    /// Checks the fields in the order a reader of the line would: what the operation is, who and when,
    /// then what its kind needs.
    func operation() throws(HistoryError) -> HistoryOperation {
        let kind = try self.kind()
        let client = try requiredInteger("client")
        let key = try requiredString("key")
        let call = try requiredUnsigned("call")
        let returnTime = try requiredUnsignedOrNull("return")
        if let returnTime, returnTime < call {
            throw failure("field \"return\" (\(returnTime)) is before field \"call\" (\(call)); an answer comes after its request")
        }
        let ok = try optionalBoolean("ok")
        if ok == nil && returnTime != nil {
            throw failure("missing field \"ok\": true or false; it may only be left out when \"return\" is null")
        }
        var operation = HistoryOperation(client: client, kind: kind, key: key, ok: ok ?? true, call: call, returnTime: returnTime)
        try fillKindFields(of: &operation)
        return operation
    }

    private func kind() throws(HistoryError) -> HistoryOperation.Kind {
        let accepted = HistoryOperation.Kind.allCases.map(\.rawValue).joined(separator: ", ")
        let name = try requiredString("op")
        guard let kind = HistoryOperation.Kind(rawValue: name) else {
            throw failure("unknown op \"\(name)\"; expected one of \(accepted)")
        }
        return kind
    }

    private func fillKindFields(of operation: inout HistoryOperation) throws(HistoryError) {
        let answered = operation.returnTime != nil
        switch operation.kind {
        case .put:
            operation.value = try requiredString("value", for: "put")
        case .get:
            let output = try stringOrNull("output", required: answered, for: "a get with a non-null \"return\"")
            operation.output = output
        case .cas:
            operation.expected = try stringOrNull("expected", required: true, for: "cas")
            operation.value = try requiredString("value", for: "cas")
        case .acquire:
            if operation.ok && answered {
                operation.token = try requiredUnsigned("token", for: "an acquire with \"ok\": true and a non-null \"return\"")
            } else {
                operation.token = try optionalUnsigned("token")
            }
            try fillAcquireFields(of: &operation)
        case .fencedPut:
            operation.lock = try requiredString("lock", for: "fenced-put")
            operation.token = try requiredUnsigned("token", for: "fenced-put")
            operation.value = try requiredString("value", for: "fenced-put")
        case .revoke:
            operation.graceMillis = try optionalUnsigned("grace")
        case .expire:
            operation.holder = try requiredInteger("holder", for: "expire")
            if let returnTime = operation.returnTime {
                throw failure("expire must have \"return\": null (a lease expiry has no answer), got \(returnTime)")
            }
        case .delete, .release, .cancel:
            break
        }
    }

    /// The fields beyond HISTORY.md that say how an acquire asks and what its grant answered.
    private func fillAcquireFields(of operation: inout HistoryOperation) throws(HistoryError) {
        if let name = try optionalString("mode") {
            guard let mode = HistoryOperation.Mode(rawValue: name) else {
                throw failure("field \"mode\" must be one of \(Self.modeNames), got \"\(name)\"")
            }
            operation.mode = mode
        }
        if operation.mode == .permits {
            let permits = try requiredCount("permits", for: "an acquire with \"mode\": \"permits\"")
            let capacity = try requiredCount("capacity", for: "an acquire with \"mode\": \"permits\"")
            guard permits <= capacity else {
                throw failure("field \"permits\" (\(permits)) is more than field \"capacity\" (\(capacity)); a semaphore never grants more permits than it has")
            }
            (operation.permits, operation.capacity) = (permits, capacity)
        } else {
            let mode = operation.mode?.rawValue ?? "exclusive"
            for name in ["permits", "capacity"] {
                guard try value(name) != nil else { continue }
                throw failure("field \"\(name)\" is only for \"mode\": \"permits\", and this acquire's mode is \"\(mode)\"")
            }
        }
        operation.waitMillis = try optionalUnsigned("wait")
        operation.delayMillis = try optionalUnsigned("delay")
        guard try value("holds") != nil else { return }
        guard operation.ok && operation.returnTime != nil else {
            throw failure("field \"holds\" is only for a granted acquire (\"ok\": true and a non-null \"return\")")
        }
        operation.holds = try requiredCount("holds")
    }

    static let modeNames = HistoryOperation.Mode.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
}

// MARK: - Typed access

extension HistoryLineFields {
    /// The value of field `name`, `nil` when absent; throws when the field is given twice.
    private func value(_ name: String) throws(HistoryError) -> FlatJSONValue? {
        var found: FlatJSONValue?
        for field in fields where field.name == name {
            guard found == nil else { throw failure("field \"\(name)\" appears twice; give it once") }
            found = field.value
        }
        return found
    }

    private func requiredString(_ name: String, for purpose: String? = nil) throws(HistoryError) -> String {
        switch try value(name) {
        case .string(let text)?: return text
        case nil: throw missing(name, for: purpose)
        case let other?: throw wrongType(name, other)
        }
    }

    /// A field that is a string or null; `required` says whether it must be present.
    private func stringOrNull(_ name: String, required: Bool, for purpose: String) throws(HistoryError) -> String? {
        switch try value(name) {
        case .string(let text)?: return text
        case .null?: return nil
        case nil: if required { throw missing(name, for: purpose) } else { return nil }
        case let other?: throw wrongType(name, other)
        }
    }

    private func optionalString(_ name: String) throws(HistoryError) -> String? {
        switch try value(name) {
        case .string(let text)?: return text
        case nil: return nil
        case let other?: throw wrongType(name, other)
        }
    }

    private func optionalBoolean(_ name: String) throws(HistoryError) -> Bool? {
        switch try value(name) {
        case .boolean(let flag)?: return flag
        case nil: return nil
        case let other?: throw wrongType(name, other)
        }
    }

    private func requiredUnsigned(_ name: String, for purpose: String? = nil) throws(HistoryError) -> UInt64 {
        guard let number = try optionalUnsigned(name) else { throw missing(name, for: purpose) }
        return number
    }

    /// A field that must be present and is an integer or null.
    private func requiredUnsignedOrNull(_ name: String) throws(HistoryError) -> UInt64? {
        guard let present = try value(name) else { throw missing(name, for: nil) }
        return present == .null ? nil : try unsigned(name, present)
    }

    /// An integer field that may be absent or null.
    private func optionalUnsigned(_ name: String) throws(HistoryError) -> UInt64? {
        guard let present = try value(name), present != .null else { return nil }
        return try unsigned(name, present)
    }

    private func requiredInteger(_ name: String, for purpose: String? = nil) throws(HistoryError) -> Int {
        let number = try requiredUnsigned(name, for: purpose)
        guard number <= UInt64(Int.max) else {
            throw failure("field \"\(name)\" is too large: \(number) (at most \(Int.max))")
        }
        return Int(number)
    }

    /// An integer of at least 1 (a count of permits or holds) that fits in an `Int32`.
    private func requiredCount(_ name: String, for purpose: String? = nil) throws(HistoryError) -> Int {
        let number = try requiredUnsigned(name, for: purpose)
        guard number >= 1 else { throw failure("field \"\(name)\" must be at least 1, got 0") }
        guard number <= UInt64(Int32.max) else {
            throw failure("field \"\(name)\" is too large: \(number) (at most \(Int32.max))")
        }
        return Int(number)
    }

    /// A non-negative integer that fits in 64 bits, written without fraction or exponent.
    private func unsigned(_ name: String, _ value: FlatJSONValue) throws(HistoryError) -> UInt64 {
        guard case .number(let literal) = value else { throw wrongType(name, value) }
        if literal.hasPrefix("-") {
            throw failure("field \"\(name)\" must not be negative, got \(literal)")
        }
        if literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            throw failure("field \"\(name)\" must be an integer, got \(literal) (no fraction or exponent)")
        }
        guard let number = UInt64(literal) else {
            throw failure("field \"\(name)\" is too large: \(literal) (at most \(UInt64.max))")
        }
        return number
    }
}

// MARK: - Messages

extension HistoryLineFields {
    private func failure(_ message: String) -> HistoryError {
        HistoryError(lineNumber: lineNumber, message: message)
    }

    private func missing(_ name: String, for purpose: String?) -> HistoryError {
        let needer = purpose.map { " for \($0)" } ?? ""
        let (type, meaning) = Self.accepted(name)
        return failure("missing field \"\(name)\"\(needer): \(type), \(meaning)")
    }

    private func wrongType(_ name: String, _ value: FlatJSONValue) -> HistoryError {
        failure("field \"\(name)\" must be \(Self.accepted(name).type), got \(value.quotedForMessage)")
    }

    /// What a field accepts: its JSON type (to follow "must be") and what it means.
    static func accepted(_ name: String) -> (type: String, meaning: String) {
        switch name {
        case "client": ("an integer", "the client's number")
        case "op": ("a string", "one of " + HistoryOperation.Kind.allCases.map(\.rawValue).joined(separator: ", "))
        case "key": ("a string", "the key or lock name")
        case "value": ("a string", "the value written")
        case "expected": ("a string or null", "the value that must be current (null: the key must be absent)")
        case "output": ("a string or null", "the value read (null: the key was absent)")
        case "ok": ("true or false", "whether the operation succeeded")
        case "token": ("an integer", "the fencing token granted")
        case "holder": ("an integer", "the client whose lock lease expiry may free")
        case "mode": ("a string", "one of " + modeNames)
        case "permits": ("an integer", "the permits the acquire takes")
        case "capacity": ("an integer", "the permits the semaphore has")
        case "wait": ("an integer", "milliseconds a blocking acquire waits at most")
        case "delay": ("an integer", "the lock-delay in milliseconds")
        case "holds": ("an integer", "the hold count the grant answered")
        case "lock": ("a string", "the lock whose token guards the write")
        case "grace": ("an integer", "milliseconds the holders were given to let go")
        case "call": ("an integer", "nanoseconds when the request was sent")
        case "return": ("an integer or null", "nanoseconds when the answer came (null: the outcome is unknown)")
        default: ("a value", "unknown field")
        }
    }
}
