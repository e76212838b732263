namespace LiveNews.Server.Bus;

/// <summary>
/// The server-side scripts of the bus. Each runs atomically on the topic's slot, which is what makes
/// publishing "assign seq, append to history, update snapshot, publish" a single step.
/// </summary>
internal static class BusScripts
{
    // KEYS: meta, history, state, items, order, expiry, event-id marker.
    // ARGV: 1 channel, 2 candidate epoch, 3 event id, 4 type, 5 at, 6 data JSON, 7 history length,
    //       8 history TTL seconds, 9 op, 10 item id, 11 score, 12 JSON (item or state),
    //       13 expiry unix ms (0: none), 14 max items (0: no cap), 15 precondition, 16 expected JSON, 17 topic.
    // Returns {1, envelope} when published, {2, envelope} when this event id was published before,
    // {0, 'precondition'} when the snapshot was not as expected (nothing changed).
    public const string Publish = """
        local marker = redis.call('GET', KEYS[7])
        if marker then return {2, marker} end

        local op = ARGV[9]
        local current = false
        if op == 'state' or op == 'clear' then
          current = redis.call('GET', KEYS[3])
        elseif ARGV[10] ~= '' then
          current = redis.call('HGET', KEYS[4], ARGV[10])
        end
        local condition = ARGV[15]
        if (condition == 'absent' and current)
          or (condition == 'present' and not current)
          or (condition == 'equals' and current ~= ARGV[16]) then
          return {0, 'precondition'}
        end

        redis.call('HSETNX', KEYS[1], 'epoch', ARGV[2])
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
        local envelope = '{"topic":"' .. ARGV[17] .. '","seq":' .. string.format('%d', seq)
          .. ',"epoch":"' .. epoch .. '","id":"' .. ARGV[3] .. '","type":"' .. ARGV[4]
          .. '","at":"' .. ARGV[5] .. '","data":' .. ARGV[6] .. '}'

        redis.call('LPUSH', KEYS[2], envelope)
        redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[7]) - 1)
        redis.call('EXPIRE', KEYS[2], ARGV[8])
        redis.call('SET', KEYS[7], envelope, 'EX', ARGV[8])

        if op == 'state' then
          redis.call('SET', KEYS[3], ARGV[12])
        elseif op == 'clear' then
          redis.call('DEL', KEYS[3])
        elseif op == 'upsert' then
          redis.call('HSET', KEYS[4], ARGV[10], ARGV[12])
          redis.call('ZADD', KEYS[5], ARGV[11], ARGV[10])
          if tonumber(ARGV[13]) > 0 then
            redis.call('ZADD', KEYS[6], ARGV[13], ARGV[10])
          else
            redis.call('ZREM', KEYS[6], ARGV[10])
          end
          local max = tonumber(ARGV[14])
          local count = redis.call('ZCARD', KEYS[5])
          if max > 0 and count > max then
            local dropped = redis.call('ZRANGE', KEYS[5], 0, count - max - 1)
            for i = 1, #dropped do
              redis.call('HDEL', KEYS[4], dropped[i])
              redis.call('ZREM', KEYS[6], dropped[i])
            end
            redis.call('ZREMRANGEBYRANK', KEYS[5], 0, count - max - 1)
          end
        elseif op == 'remove' then
          redis.call('HDEL', KEYS[4], ARGV[10])
          redis.call('ZREM', KEYS[5], ARGV[10])
          redis.call('ZREM', KEYS[6], ARGV[10])
        end

        redis.call('PUBLISH', ARGV[1], envelope)
        return {1, envelope}
        """;

    // KEYS: meta, history, state, items, order, expiry.
    // ARGV: 1 position seq (-1: none), 2 '1' to read the snapshot, 3 candidate epoch.
    // Returns {epoch, seq, history found (1/0), history newest first, state, items, expiries}.
    // A topic nobody published to yet gets its epoch here, so seq 0 already has a stable epoch.
    public const string Read = """
        redis.call('HSETNX', KEYS[1], 'epoch', ARGV[3])
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
        local from = tonumber(ARGV[1])
        local found = 0
        local history = {}
        if from >= 0 and from <= seq then
          local missing = seq - from
          if missing == 0 then
            found = 1
          else
            history = redis.call('LRANGE', KEYS[2], 0, missing - 1)
            if #history == missing then found = 1 else history = {} end
          end
        end

        local state = ''
        local items = {}
        local expiries = {}
        if ARGV[2] == '1' then
          state = redis.call('GET', KEYS[3]) or ''
          local ids = redis.call('ZREVRANGE', KEYS[5], 0, -1)
          if #ids > 0 then
            items = redis.call('HMGET', KEYS[4], unpack(ids))
            for i = 1, #ids do
              if not items[i] then items[i] = '' end
              expiries[i] = redis.call('ZSCORE', KEYS[6], ids[i]) or '0'
            end
          end
        end
        return {epoch, seq, found, history, state, items, expiries}
        """;
}
