import ConclaveScript
import Testing

/// The scripts lock libraries send, as they publish them: redis-py's `Lock` (redis/lock.py) and
/// pottery's `Redlock` (pottery/redlock.py), and the unlock script of the Redlock description.
enum LockScripts {
    static let redisPyRelease = """
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
        """
    static let redisPyExtend = """
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        local expiration = redis.call('pttl', KEYS[1])
        if not expiration then
            expiration = 0
        end
        if expiration < 0 then
            return 0
        end

        local newttl = ARGV[2]
        if ARGV[3] == "0" then
            newttl = ARGV[2] + expiration
        end
        redis.call('pexpire', KEYS[1], newttl)
        return 1
        """
    static let redisPyReacquire = """
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('pexpire', KEYS[1], ARGV[2])
        return 1
        """
    static let potteryAcquired = """
        if redis.call('get', KEYS[1]) == ARGV[1] then
            local pttl = redis.call('pttl', KEYS[1])
            return (pttl > 0) and pttl or 0
        else
            return 0
        end
        """
    static let potteryExtend = """
        if redis.call('get', KEYS[1]) == ARGV[1] then
            return redis.call('pexpire', KEYS[1], ARGV[2])
        else
            return 0
        end
        """
    static let redlockUnlock = """
        if redis.call("get",KEYS[1]) == ARGV[1] then
            return redis.call("del",KEYS[1])
        else
            return 0
        end
        """
}

struct LockScriptTests {
    let engine = ScriptEngine()

    @Test("redis-py Lock: release deletes only the holder's key")
    func redisPyRelease() {
        var host = TestHost(["lock": "mine"])
        #expect(run(engine, LockScripts.redisPyRelease, keys: ["lock"], arguments: ["theirs"], host: &host).reply == .integer(0))
        #expect(host.values["lock"] == "mine")
        #expect(run(engine, LockScripts.redisPyRelease, keys: ["lock"], arguments: ["mine"], host: &host).reply == .integer(1))
        #expect(host.values["lock"] == nil)
        #expect(run(engine, LockScripts.redisPyRelease, keys: ["lock"], arguments: ["mine"], host: &host).reply == .integer(0))
    }

    @Test("redis-py Lock: extend adds to or replaces the TTL; reacquire resets it")
    func redisPyExtend() {
        var host = TestHost(["lock": "mine"])
        host.expiries["lock"] = host.nowMillis + 1_000
        #expect(run(engine, LockScripts.redisPyExtend, keys: ["lock"], arguments: ["mine", "500", "0"], host: &host).reply == .integer(1))
        #expect(host.expiries["lock"] == host.nowMillis + 1_500)
        #expect(run(engine, LockScripts.redisPyExtend, keys: ["lock"], arguments: ["mine", "700", "1"], host: &host).reply == .integer(1))
        #expect(host.expiries["lock"] == host.nowMillis + 700)
        #expect(run(engine, LockScripts.redisPyExtend, keys: ["lock"], arguments: ["theirs", "700", "1"], host: &host).reply == .integer(0))
        #expect(run(engine, LockScripts.redisPyReacquire, keys: ["lock"], arguments: ["mine", "9000"], host: &host).reply == .integer(1))
        #expect(host.expiries["lock"] == host.nowMillis + 9_000)
        // A lock without a TTL cannot be extended (PTTL -1).
        var forever = TestHost(["lock": "mine"])
        #expect(run(engine, LockScripts.redisPyExtend, keys: ["lock"], arguments: ["mine", "500", "0"], host: &forever).reply == .integer(0))
    }

    @Test("pottery Redlock: acquired reports the TTL left, extend and release check the token")
    func pottery() {
        var host = TestHost(["redlock:printer": "uuid"])
        host.expiries["redlock:printer"] = host.nowMillis + 200
        #expect(run(engine, LockScripts.potteryAcquired, keys: ["redlock:printer"], arguments: ["uuid"], host: &host).reply == .integer(200))
        #expect(run(engine, LockScripts.potteryAcquired, keys: ["redlock:printer"], arguments: ["other"], host: &host).reply == .integer(0))
        #expect(run(engine, LockScripts.potteryExtend, keys: ["redlock:printer"], arguments: ["uuid", "400"], host: &host).reply == .integer(1))
        #expect(host.expiries["redlock:printer"] == host.nowMillis + 400)
        #expect(run(engine, LockScripts.redlockUnlock, keys: ["redlock:printer"], arguments: ["other"], host: &host).reply == .integer(0))
        #expect(run(engine, LockScripts.redlockUnlock, keys: ["redlock:printer"], arguments: ["uuid"], host: &host).reply == .integer(1))
        #expect(host.values.isEmpty)
        #expect(run(engine, LockScripts.potteryExtend, keys: ["redlock:printer"], arguments: ["uuid", "400"], host: &host).reply == .integer(0))
    }
}
