using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Milvus.Domain.Mq.Redis;

/// <summary>
/// The Lua scripts of <see cref="RedisMqClient"/>. Redis runs each script atomically, so every step that checks
/// the channel registry and then changes a stream is one script. <c>KEYS[1]</c> is always the registry (a sorted
/// set of channel names at score 0), and a channel's stream key is passed in <c>KEYS</c> too. Results below 0 are
/// the codes of <see cref="RedisMqClient"/>: -1 no such channel, -2 no such group (or, on create, the group
/// exists), -3 no such message, -4 the call's deadline passed before Redis ran it (and then nothing changed), -5 an
/// idempotency key used for another batch (and then nothing changed).
/// </summary>
internal static class RedisMqScripts
{
    // Redis's clock in ms, and the deadline check of the scripts that take one: a script that Redis runs after its
    // caller gave up on it (Redis was frozen or slow) changes nothing, so the caller's error answer is true.
    private const string Expired = """
        local function nowMs()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function expired(deadline)
          deadline = tonumber(deadline)
          return deadline > 0 and nowMs() > deadline
        end

        """;

    private const string HasGroup = """
        local function hasGroup(stream, group)
          local groups = redis.call('XINFO', 'GROUPS', stream)
          for i = 1, #groups do
            local info = groups[i]
            for j = 1, #info, 2 do
              if info[j] == 'name' and info[j + 1] == group then return true end
            end
          end
          return false
        end

        """;

    /// <summary>KEYS: registry, stream. ARGV: name. 1 when created, 0 when it exists.</summary>
    public static readonly RedisMqScript CreateChannel = new("""
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
        redis.call('DEL', KEYS[2])
        redis.call('XGROUP', 'CREATE', KEYS[2], '.', '$', 'MKSTREAM')
        redis.call('XGROUP', 'DESTROY', KEYS[2], '.')
        redis.call('ZADD', KEYS[1], 0, ARGV[1])
        return 1
        """);

    /// <summary>
    /// KEYS: registry, then the keys to delete (streams and their key records). ARGV: the wake-up channel, then the names. 0 when all were destroyed, or
    /// the 1-based index of the first unknown name (and then nothing changed).
    /// </summary>
    public static readonly RedisMqScript DestroyChannels = new("""
        for i = 2, #ARGV do
          if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then return i - 1 end
        end
        for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
        for i = 2, #ARGV do
          redis.call('ZREM', KEYS[1], ARGV[i])
          redis.call('PUBLISH', ARGV[1], ARGV[i])
        end
        return 0
        """);

    // Appends ARGV[first..] to the stream KEYS[3] with explicit ids `ms-seq` above the queue's last id (KEYS[2]):
    // `ms` is Redis's clock (never moving back), `seq` counts within it and carries into `ms + 1` past the largest
    // seq (ARGV[3]). Wakes the consumers (ARGV[2], with the name ARGV[1]) and returns the first entry's ms and seq.
    private const string Append = """
        local function append(first)
          local now = nowMs()
          local last = redis.call('HMGET', KEYS[2], 'ms', 'seq')
          local ms, seq = tonumber(last[1] or '0'), tonumber(last[2] or '-1')
          if now > ms then ms, seq = now, -1 end
          local max = tonumber(ARGV[3])
          local firstMs, firstSeq
          for i = first, #ARGV do
            seq = seq + 1
            if seq > max then ms, seq = ms + 1, 0 end
            if i == first then firstMs, firstSeq = ms, seq end
            redis.call('XADD', KEYS[3], string.format('%d-%d', ms, seq), 'p', ARGV[i])
          end
          redis.call('HSET', KEYS[2], 'ms', string.format('%d', ms), 'seq', seq)
          redis.call('PUBLISH', ARGV[2], ARGV[1])
          return firstMs, firstSeq
        end

        """;

    /// <summary>
    /// KEYS: registry, the last-id hash, stream. ARGV: name, wake-up channel, the largest seq, the deadline (Unix ms
    /// on Redis's clock, 0 for none), then the payloads. Appends the payloads (ids as in <c>append</c> above) and
    /// returns <c>{ ms, seq }</c> of the first entry, -1, or -4.
    /// </summary>
    public static readonly RedisMqScript Produce = new(Expired + Append + """
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        if expired(ARGV[4]) then return -4 end
        local ms, seq = append(5)
        return { ms, seq }
        """);

    /// <summary>
    /// KEYS: registry, the last-id hash, stream, the channel's key records (a hash), their expiries (a sorted set).
    /// ARGV: name, wake-up channel, the largest seq, the deadline, the idempotency key, its fingerprint, its lifetime
    /// in ms, the note, then the payloads. A live record of the key with the same fingerprint and count is a replay:
    /// nothing is appended and <c>{ ms, seq, 1, note }</c> of the first call comes back. Otherwise the payloads are
    /// appended with the record (fingerprint, then <c>"ms seq count"</c> and a newline, then the note) and <c>{ ms, seq, 0 }</c>
    /// comes back. -1, -4, or -5 when the key was used for another batch. Each call also drops a few expired keys.
    /// </summary>
    public static readonly RedisMqScript ProduceKeyed = new(Expired + Append + """
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        if expired(ARGV[4]) then return -4 end
        local now = nowMs()
        local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 4)
        for i = 1, #old do
          redis.call('HDEL', KEYS[4], old[i])
          redis.call('ZREM', KEYS[5], old[i])
        end
        local count = #ARGV - 8
        local rec = redis.call('HGET', KEYS[4], ARGV[5])
        local expires = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[5]) or '0')
        if rec and expires > now then
          if string.sub(rec, 1, 32) ~= ARGV[6] then return -5 end
          local nl = string.find(rec, '\n', 33, true)
          local ms, seq, n = string.match(string.sub(rec, 33, nl - 1), '^(%d+) (%d+) (%d+)$')
          if tonumber(n) ~= count then return -5 end
          return { tonumber(ms), tonumber(seq), 1, string.sub(rec, nl + 1) }
        end
        local ms, seq = append(9)
        redis.call('HSET', KEYS[4], ARGV[5], ARGV[6] .. string.format('%d %d %d\n', ms, seq, count) .. ARGV[8])
        redis.call('ZADD', KEYS[5], now + tonumber(ARGV[7]), ARGV[5])
        return { ms, seq, 0 }
        """);

    /// <summary>KEYS: the channel's key records, their expiries. ARGV: the key. The fingerprint of the live record, or nil.</summary>
    public static readonly RedisMqScript FindKey = new(Expired + """
        local expires = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
        if expires <= nowMs() then return nil end
        local rec = redis.call('HGET', KEYS[1], ARGV[1])
        if not rec then return nil end
        return string.sub(rec, 1, 32)
        """);

    /// <summary>
    /// KEYS: stream. ARGV: group, consumer, count, deadline (Unix ms on Redis's clock, 0 for none). Reads the group's
    /// next entries and moves the group past them (<c>XREADGROUP … NOACK</c>): the reply of <c>XREADGROUP</c>, nil
    /// when there is nothing new, -2 when the group (or the stream) does not exist, or -4.
    /// </summary>
    public static readonly RedisMqScript Read = new(Expired + """
        if expired(ARGV[4]) then return -4 end
        local r = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'NOACK', 'STREAMS', KEYS[1], '>')
        if type(r) == 'table' and r.err then
          if string.find(r.err, 'NOGROUP', 1, true) then return -2 end
          return redis.error_reply(r.err)
        end
        return r
        """);

    /// <summary>KEYS: registry, stream. ARGV: name, group, start id (<c>0</c> or <c>$</c>). 0, -1, or -2 when the group exists.</summary>
    public static readonly RedisMqScript CreateGroup = new(HasGroup + """
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        if hasGroup(KEYS[2], ARGV[2]) then return -2 end
        redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[2], ARGV[3])
        return 0
        """);

    /// <summary>KEYS: registry, stream. ARGV: name, group, wake-up channel. 0, -1 or -2.</summary>
    public static readonly RedisMqScript DestroyGroup = new("""
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        if redis.call('XGROUP', 'DESTROY', KEYS[2], ARGV[2]) == 0 then return -2 end
        redis.call('PUBLISH', ARGV[3], ARGV[1])
        return 0
        """);

    /// <summary>KEYS: registry, stream. ARGV: name, group. 1 when the group exists on the channel, else 0.</summary>
    public static readonly RedisMqScript GroupExists = new(HasGroup + """
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
        if hasGroup(KEYS[2], ARGV[2]) then return 1 end
        return 0
        """);

    /// <summary>
    /// KEYS: registry, stream. ARGV: name, group, the entry that must exist (empty for none), the id to set as the
    /// group's last delivered one, wake-up channel. 0, -1, -2 or -3.
    /// </summary>
    public static readonly RedisMqScript Seek = new(HasGroup + """
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        if not hasGroup(KEYS[2], ARGV[2]) then return -2 end
        if ARGV[3] ~= '' and #redis.call('XRANGE', KEYS[2], ARGV[3], ARGV[3], 'COUNT', 1) == 0 then return -3 end
        redis.call('XGROUP', 'SETID', KEYS[2], ARGV[2], ARGV[4])
        redis.call('PUBLISH', ARGV[5], ARGV[1])
        return 0
        """);

    /// <summary>
    /// KEYS: registry, stream. ARGV: name, retention time in ms (-1: off), retention size in bytes (-1: off), how many
    /// read entries the size rule may walk when Redis cannot count them, and the first entry id that must stay whatever
    /// the groups have read (empty for none: where a subscription or an archiver resumes after a restart). Only what
    /// every group has read (the entries up to the lowest <c>last-delivered-id</c>) and lies below that id may go: by
    /// time with <c>XTRIM MINID</c> below now minus the time, then by size, the oldest first, while they take more than
    /// the size (the memory of the stream divided evenly among its entries; when Redis cannot count the entries that may
    /// go, the oldest of them go while the whole stream takes more than the size, at most the walked number a pass).
    /// Returns <c>{ trimmed, length }</c>, or -1. A stream without groups keeps everything.
    /// </summary>
    public static readonly RedisMqScript Retention = new("""
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        local len = redis.call('XLEN', KEYS[2])
        local groups = redis.call('XINFO', 'GROUPS', KEYS[2])
        if #groups == 0 or len == 0 then return { 0, len } end
        local function parse(id)
          local d = string.find(id, '-', 1, true)
          return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
        end
        local function less(ams, aseq, bms, bseq) return ams < bms or (ams == bms and aseq < bseq) end
        -- (kms, kseq): the first entry that must stay; everything below it may go.
        local kms, kseq, lag = nil, nil, 0
        for i = 1, #groups do
          local info = groups[i]
          local glag = false
          for j = 1, #info, 2 do
            if info[j] == 'last-delivered-id' then
              local ms, seq = parse(info[j + 1])
              if kms == nil or less(ms, seq + 1, kms, kseq) then kms, kseq = ms, seq + 1 end
            elseif info[j] == 'lag' then
              glag = info[j + 1]
            end
          end
          -- A lag that Redis cannot tell (nil after a seek) or does not report (before 7.0) leaves the count unknown.
          if lag and glag then lag = math.max(lag, tonumber(glag)) else lag = nil end
        end
        if ARGV[5] ~= '' then
          local fms, fseq = parse(ARGV[5])
          if less(fms, fseq, kms, kseq) then
            kms, kseq = fms, fseq
            lag = nil -- The groups' lag no longer counts the entries that may go.
          end
        end
        local keep = string.format('%d-%d', kms, kseq)
        local trimmed = 0
        local time = tonumber(ARGV[2])
        if time >= 0 then
          local t = redis.call('TIME')
          -- Entries written at or before this millisecond are old enough (with a time of 0, every one written so far).
          local old = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - time
          local cut = keep
          if less(old + 1, 0, kms, kseq) then cut = string.format('%d-0', old + 1) end
          trimmed = redis.call('XTRIM', KEYS[2], 'MINID', cut)
        end
        local size = tonumber(ARGV[3])
        len = redis.call('XLEN', KEYS[2])
        if size >= 0 and len > 0 then
          local usage = redis.call('MEMORY', 'USAGE', KEYS[2]) or 0
          if usage > size then
            local avg = usage / len
            if lag then
              local read = len - lag
              local drop = math.min(read, math.ceil((read * avg - size) / avg))
              if drop > 0 then trimmed = trimmed + redis.call('XTRIM', KEYS[2], 'MAXLEN', len - drop) end
            else
              local read = redis.call('XRANGE', KEYS[2], '-', '(' .. keep, 'COUNT', tonumber(ARGV[4]))
              local drop = math.min(#read, math.ceil((usage - size) / avg))
              if drop > 0 then
                local ms, seq = parse(read[drop][1])
                trimmed = trimmed + redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-%d', ms, seq + 1))
              end
            end
          end
        end
        return { trimmed, redis.call('XLEN', KEYS[2]) }
        """);

    /// <summary>KEYS: registry, stream. ARGV: name. The id of the stream's last entry, false when it has none, or -1.</summary>
    public static readonly RedisMqScript LatestId = new("""
        if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if #last == 0 then return false end
        return last[1][1]
        """);
}

/// <summary>A Lua script run by its SHA1 (EVALSHA), and by its text (EVAL, which caches it) when Redis lacks it.</summary>
internal sealed class RedisMqScript(string text)
{
    private readonly byte[] _sha = SHA1.HashData(Encoding.UTF8.GetBytes(text));

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync db, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await db.ScriptEvaluateAsync(_sha, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.ScriptEvaluateAsync(text, keys, args).ConfigureAwait(false);
        }
    }
}
