import ConclaveCore

/// A snapshot arriving in chunks, kept until its last byte: in `data`, or staged in storage when
/// storage is a `SnapshotReceivingStorage` (then `data` stays empty).
struct IncomingSnapshot {
    var manifest: SnapshotManifest
    var receivedBytes = 0
    var data: [UInt8] = []
}

extension Raft {
    /// Starts sending storage's latest snapshot to a follower whose next entries were compacted.
    /// Returns false when storage has no snapshot to give.
    @discardableResult
    mutating func startSnapshot(to target: NodeID) throws(StorageError) -> Bool {
        guard var follower = progress[target] else { return false }
        let manifest = try log.storage.snapshotManifest()
        guard !manifest.isEmpty else { return false }
        follower.becomeSnapshot(index: manifest.index, bytes: manifest.totalBytes)
        progress[target] = follower
        snapshotsInFlight[target] = manifest
        try sendSnapshotChunks(to: target)
        return true
    }

    /// Sends chunks while the window allows: at most `snapshotChunksInFlightMax` unacknowledged,
    /// each read from storage as it goes out. If storage no longer holds the snapshot being sent
    /// (a newer one replaced it), the follower gets the latest one from the start instead.
    mutating func sendSnapshotChunks(to target: NodeID) throws(StorageError) {
        guard var follower = progress[target], follower.state == .snapshot,
              let manifest = snapshotsInFlight[target] else { return }
        let chunkBytes = config.snapshotChunkBytes
        let windowBytes = chunkBytes * config.snapshotChunksInFlightMax
        repeat {
            let offset = follower.snapshotBytesSent
            guard offset < manifest.totalBytes || (offset == 0 && manifest.totalBytes == 0),
                  offset - follower.snapshotBytesAcknowledged < windowBytes else { break }
            let data: [UInt8]
            do {
                data = try log.storage.snapshotChunk(index: manifest.index, offset: offset, maxBytes: chunkBytes)
            } catch .compacted {
                guard try log.storage.snapshotManifest().index != manifest.index else {
                    throw .io("storage lists snapshot \(manifest.index) as its latest but holds no data for it")
                }
                progress[target] = follower
                try startSnapshot(to: target)
                return
            }
            let end = offset + data.count
            guard end <= manifest.totalBytes, data.count == min(chunkBytes, manifest.totalBytes - offset) else {
                throw .io("snapshot \(manifest.index) gave \(data.count) bytes at offset \(offset) of \(manifest.totalBytes)")
            }
            let chunk = SnapshotChunk(index: manifest.index, term: manifest.term, voters: manifest.voters,
                                      learners: manifest.learners, offset: offset, totalBytes: manifest.totalBytes, data: data)
            send(Message(kind: .snapshot, to: target, chunk: chunk))
            follower.snapshotBytesSent = max(end, offset + 1)
        } while follower.snapshotBytesSent < manifest.totalBytes
        progress[target] = follower
    }

    /// Leader: a follower acknowledged chunks, or asked to resume from an offset.
    mutating func handleSnapshotResponse(_ message: Message, follower: inout Progress) {
        guard follower.state == .snapshot, message.index == follower.pendingSnapshotIndex else { return }
        let offset = Int(message.rejectHint)
        if message.reject {
            // A gap at `offset`: resend from there — once. A stale reject (behind what was since
            // acknowledged) or one for an offset already rewound to must not resend the window
            // again, or every stale chunk in flight multiplies into a window of new ones.
            guard offset >= follower.snapshotBytesAcknowledged, offset < follower.snapshotBytesSent else { return }
            follower.snapshotBytesSent = offset
            follower.snapshotBytesAcknowledged = offset
        } else {
            follower.snapshotBytesAcknowledged = max(follower.snapshotBytesAcknowledged, offset)
        }
    }

    /// Leader, on a heartbeat answer from a follower receiving a snapshot: if no chunk was
    /// acknowledged since the previous answer, chunks were lost; resend from the acknowledged offset.
    mutating func resumeSnapshotIfStalled(_ follower: inout Progress) {
        if follower.snapshotBytesAtHeartbeat == follower.snapshotBytesAcknowledged {
            follower.snapshotBytesSent = follower.snapshotBytesAcknowledged
        }
        follower.snapshotBytesAtHeartbeat = follower.snapshotBytesAcknowledged
    }

    /// Follower: assembles chunks in order (in storage, if it can stage them); on the last one
    /// installs the snapshot (if it is ahead of what we have) and acknowledges it as an append up
    /// to its index.
    mutating func handleSnapshotChunk(_ message: Message) throws(StorageError) {
        guard let chunk = message.chunk else { return }
        let receiving = log.storage as? any SnapshotReceivingStorage
        if chunk.index <= log.committed {
            dropIncomingSnapshot()
            send(Message(kind: .appendResponse, to: message.from, index: log.committed))
            return
        }
        // A whole snapshot staged in storage and not yet installed must not be replaced under
        // the application: a newer one's chunks are dropped until then (the leader resends them
        // when its next heartbeat finds them unacknowledged).
        if receiving != nil && log.pendingSnapshot != nil { return }
        if incomingSnapshot?.manifest.index != chunk.index {
            guard chunk.offset == 0, chunk.totalBytes <= config.snapshotBytesMax else {
                send(Message(kind: .snapshotResponse, to: message.from, index: chunk.index, reject: true, rejectHint: 0))
                return
            }
            let manifest = SnapshotManifest(index: chunk.index, term: chunk.term, voters: chunk.voters,
                                            learners: chunk.learners, totalBytes: chunk.totalBytes)
            incomingSnapshot = IncomingSnapshot(manifest: manifest)
            if let receiving {
                try receiving.beginReceivingSnapshot(manifest)
            } else {
                incomingSnapshot!.data.reserveCapacity(chunk.totalBytes)
            }
        }
        let held = incomingSnapshot!.receivedBytes
        guard chunk.offset == held else {
            // A duplicate of a chunk we hold is acknowledged, not refused; only a gap asks the
            // leader to go back.
            send(Message(kind: .snapshotResponse, to: message.from, index: chunk.index, reject: chunk.offset > held,
                         rejectHint: LogIndex(held)))
            return
        }
        if let receiving {
            try receiving.receiveSnapshotChunk(chunk.data)
        } else {
            incomingSnapshot!.data.append(contentsOf: chunk.data)
        }
        incomingSnapshot!.receivedBytes += chunk.data.count
        guard incomingSnapshot!.receivedBytes >= incomingSnapshot!.manifest.totalBytes else {
            send(Message(kind: .snapshotResponse, to: message.from, index: chunk.index,
                         rejectHint: LogIndex(incomingSnapshot!.receivedBytes)))
            return
        }
        let complete = incomingSnapshot!
        incomingSnapshot = nil
        let manifest = complete.manifest
        let snapshot = Snapshot(index: manifest.index, term: manifest.term, voters: manifest.voters,
                                learners: manifest.learners, data: complete.data)
        log.restore(snapshot)
        voters = snapshot.voters
        learners = snapshot.learners
        send(Message(kind: .appendResponse, to: message.from, index: snapshot.index))
    }
}
