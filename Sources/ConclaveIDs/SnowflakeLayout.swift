/// How a 63-bit Snowflake ID is split into fields, from the most significant bit down:
/// timestamp (milliseconds since an epoch), datacenter, worker, sequence. Bit 63 is always 0, so an
/// ID is a non-negative `Int64` in every language that reads it, and IDs sort by time first.
///
/// The default, `standard`, is Twitter's 41/5/5/12: about 69.7 years of milliseconds, 32
/// datacenters × 32 workers, and 4,096 IDs per millisecond per worker.
///
/// Validation: the four widths must sum to 63; timestamp, worker and sequence need at least 1 bit
/// each. The datacenter field may have 0 bits, for deployments that identify a generator by worker
/// alone (e.g. 41,0,10,12: 1,024 workers); its only value is then 0. Every width is therefore at
/// most 61 bits. All field arithmetic is O(1).
public struct SnowflakeLayout: Hashable, Sendable, CustomStringConvertible {
    /// Bits in an ID: 64 minus the sign bit, which is always 0.
    public static let idBits = 63
    /// Twitter's layout: 41-bit milliseconds, 5-bit datacenter, 5-bit worker, 12-bit sequence.
    public static let standard = SnowflakeLayout(unchecked: 41, 5, 5, 12)
    /// What `init(parsing:)` accepts, for error messages and help text.
    public static let acceptedText =
        "four comma-separated bit widths timestamp,datacenter,worker,sequence that sum to 63, "
        + "each at least 1 except datacenter (0 allowed), e.g. 41,5,5,12"

    public let timestampBits: Int
    public let datacenterBits: Int
    public let workerBits: Int
    public let sequenceBits: Int

    /// The largest value of each field; an empty (0-bit) datacenter field's largest value is 0.
    public let timestampMillisMax: UInt64
    public let datacenterMax: UInt64
    public let workerMax: UInt64
    public let sequenceMax: UInt64

    /// Where each field starts (its least significant bit's position in the ID).
    let timestampShift: Int
    let datacenterShift: Int
    let workerShift: Int

    /// - Throws: `IDInputError` naming the first width out of its range, or `layout` when the
    ///   widths do not sum to 63.
    public init(timestampBits: Int, datacenterBits: Int, workerBits: Int, sequenceBits: Int) throws(IDInputError) {
        let widthMax = Self.idBits - 2
        for (name, bits, minimum) in [
            ("timestampBits", timestampBits, 1), ("datacenterBits", datacenterBits, 0),
            ("workerBits", workerBits, 1), ("sequenceBits", sequenceBits, 1),
        ] where bits < minimum || bits > widthMax {
            throw IDInputError(parameter: name, value: "\(bits)", accepted: "a width from \(minimum) to \(widthMax) bits")
        }
        let sum = timestampBits + datacenterBits + workerBits + sequenceBits
        guard sum == Self.idBits else {
            throw IDInputError(
                parameter: "layout", value: "\(timestampBits),\(datacenterBits),\(workerBits),\(sequenceBits) (sum \(sum))",
                accepted: "bit widths that sum to 63"
            )
        }
        self.init(unchecked: timestampBits, datacenterBits, workerBits, sequenceBits)
    }

    /// Parses `timestamp,datacenter,worker,sequence`, e.g. `41,5,5,12` (spaces around commas allowed).
    public init(parsing text: String) throws(IDInputError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(Self.width)
        guard parts.count == 4, let timestamp = parts[0], let datacenter = parts[1], let worker = parts[2],
              let sequence = parts[3]
        else {
            throw IDInputError(parameter: "layout", value: "'\(text)'", accepted: Self.acceptedText)
        }
        try self.init(timestampBits: timestamp, datacenterBits: datacenter, workerBits: worker, sequenceBits: sequence)
    }

    /// One width from `init(parsing:)`: a decimal integer, spaces around it allowed.
    private static func width(_ part: Substring) -> Int? {
        var trimmed = part
        while trimmed.first == " " { trimmed.removeFirst() }
        while trimmed.last == " " { trimmed.removeLast() }
        return Int(trimmed)
    }

    private init(unchecked timestampBits: Int, _ datacenterBits: Int, _ workerBits: Int, _ sequenceBits: Int) {
        self.timestampBits = timestampBits
        self.datacenterBits = datacenterBits
        self.workerBits = workerBits
        self.sequenceBits = sequenceBits
        timestampMillisMax = (1 << UInt64(timestampBits)) - 1
        datacenterMax = (1 << UInt64(datacenterBits)) - 1
        workerMax = (1 << UInt64(workerBits)) - 1
        sequenceMax = (1 << UInt64(sequenceBits)) - 1
        workerShift = sequenceBits
        datacenterShift = sequenceBits + workerBits
        timestampShift = sequenceBits + workerBits + datacenterBits
    }

    /// `timestamp,datacenter,worker,sequence`, the form `init(parsing:)` reads.
    public var description: String { "\(timestampBits),\(datacenterBits),\(workerBits),\(sequenceBits)" }

    /// The most IDs one worker can issue in one millisecond: the layout's throughput bound.
    public var idsPerMillisMax: UInt64 { sequenceMax + 1 }

    /// The ID for `fields`.
    /// - Throws: `IDInputError` naming the first field that does not fit its width.
    public func encode(_ fields: SnowflakeFields) throws(IDInputError) -> UInt64 {
        try IDInputError.require(fields.timestampMillis, in: 0...timestampMillisMax, "timestampMillis", unit: "ms")
        try IDInputError.require(fields.datacenterID, in: 0...datacenterMax, "datacenterID")
        try IDInputError.require(fields.workerID, in: 0...workerMax, "workerID")
        try IDInputError.require(fields.sequence, in: 0...sequenceMax, "sequence")
        return compose(timestampMillis: fields.timestampMillis, node: node(datacenterID: fields.datacenterID, workerID: fields.workerID),
                       sequence: fields.sequence)
    }

    /// The fields of `id`. Every value below 2⁶³ decodes; `encode(decode(id)) == id`.
    /// - Throws: `IDInputError` when bit 63 is set (no Snowflake ID has it).
    public func decode(_ id: UInt64) throws(IDInputError) -> SnowflakeFields {
        try IDInputError.require(id, in: 0...(UInt64.max >> 1), "id")
        return SnowflakeFields(
            timestampMillis: id >> UInt64(timestampShift),
            datacenterID: (id >> UInt64(datacenterShift)) & datacenterMax,
            workerID: (id >> UInt64(workerShift)) & workerMax,
            sequence: id & sequenceMax
        )
    }

    /// The datacenter and worker bits, in place, for IDs composed by `compose`. Unchecked: callers
    /// have validated both IDs.
    func node(datacenterID: UInt64, workerID: UInt64) -> UInt64 {
        datacenterID << UInt64(datacenterShift) | workerID << UInt64(workerShift)
    }

    /// An ID from fields already known to fit. Unchecked, for the generator's hot path.
    @inline(__always)
    func compose(timestampMillis: UInt64, node: UInt64, sequence: UInt64) -> UInt64 {
        timestampMillis << UInt64(timestampShift) | node | sequence
    }
}

/// The fields of a Snowflake ID. `timestampMillis` counts from the generator's epoch, not from 1970.
public struct SnowflakeFields: Hashable, Sendable {
    public var timestampMillis: UInt64
    public var datacenterID: UInt64
    public var workerID: UInt64
    public var sequence: UInt64

    public init(timestampMillis: UInt64, datacenterID: UInt64, workerID: UInt64, sequence: UInt64) {
        self.timestampMillis = timestampMillis
        self.datacenterID = datacenterID
        self.workerID = workerID
        self.sequence = sequence
    }
}
