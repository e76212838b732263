namespace LiveNews.Server.Bus;

/// <summary>
/// The server-side scripts of the bus. Each runs atomically on the topic's slot, which is what makes
/// publishing "assign seq, append to history, update snapshot, publish" a single step.
/// </summary>
/// <remarks>
/// Keys of a topic, in the order every script takes them (<see cref="TopicKeys"/>): 1 meta (hash: seq,
/// epoch), 2 history (list of envelopes, newest first), 3 state (string), 4 items (hash: id to JSON),
/// 5 order (sorted set: id by snapshot order), 6 expiry (sorted set: id by unix ms), 7 pins (sorted set:
/// pinned ids by their order score), 8 removed (sorted set: ids of removed items by their last order score,
/// so a paging cursor that names a removed item still has a place).
/// </remarks>
internal static class BusScripts
{
    // Rewrites every event of the history that carries the removed item (or every event, for a topic that
    // is taken down whole) so its data is only a tombstone: the slot (seq, id, type) stays, so resume stays
    // gap-free, but no removed text can be replayed. Field order is the publish script's: readers of the
    // envelope head rely on it. Events whose data is only an id (a retraction, an expiry, a deletion) carry
    // nothing to take out and stay as they are. Returns how many events it rewrote: 0 for an item whose
    // text is out of history already (retracted before).
    private const string Tombstone = """
        local function carriesMore(data)
          for field in pairs(data) do
            if field ~= 'id' then return true end
          end
          return false
        end
        local function tombstone(history, all, itemId)
          local rewritten = 0
          local events = redis.call('LRANGE', history, 0, -1)
          for i = 1, #events do
            local ok, e = pcall(cjson.decode, events[i])
            if ok and type(e) == 'table' and type(e.data) == 'table' and e.data.removed ~= true
              and (all or e.data.id == itemId) and carriesMore(e.data) then
              local data = '{"removed":true}'
              if type(e.data.id) == 'string' then data = '{"id":' .. cjson.encode(e.data.id) .. ',"removed":true}' end
              redis.call('LSET', history, i - 1, '{"topic":"' .. e.topic .. '","seq":' .. string.format('%d', e.seq)
                .. ',"epoch":"' .. e.epoch .. '","id":"' .. e.id .. '","type":"' .. e.type
                .. '","at":"' .. e.at .. '","data":' .. data .. '}')
              rewritten = rewritten + 1
            end
          end
          return rewritten
        end
        """;

    // Redis can come back with less than it had: an older snapshot, an append-only log that lost its last
    // second, a failover to a replica that lagged. The topic's seq is then below one a node already saw in
    // the same epoch, and counting on from it would reuse seqs readers hold: they would drop the new events
    // as seen. Given the furthest position the caller saw, a topic found behind it moves to a new epoch with
    // its history (each event restamped, seqs kept), so readers start over from the snapshot and resume works
    // in the new epoch; nothing published is dropped. Returns the topic's epoch (false if it has none).
    private const string Renew = """
        local function renew(meta, history, seenEpoch, seenSeq, candidate)
          local epoch = redis.call('HGET', meta, 'epoch')
          if epoch and epoch == seenEpoch and tonumber(redis.call('HGET', meta, 'seq') or '0') < tonumber(seenSeq) then
            redis.call('HSET', meta, 'epoch', candidate)
            -- Rewritten whole, same TTL: LSET finds each entry anew (0.9 s against 1.5 s at 100,000 entries).
            local from, to = '"epoch":"' .. epoch .. '"', '"epoch":"' .. candidate .. '"'
            local events = redis.call('LRANGE', history, 0, -1)
            local ttl = redis.call('PTTL', history)
            for i = 1, #events do
              local first, last = string.find(events[i], from, 1, true)
              if first then events[i] = string.sub(events[i], 1, first - 1) .. to .. string.sub(events[i], last + 1) end
            end
            redis.call('DEL', history)
            for i = 1, #events, 1000 do
              redis.call('RPUSH', history, unpack(events, i, math.min(i + 999, #events)))
            end
            if ttl > 0 and #events > 0 then redis.call('PEXPIRE', history, ttl) end
            return candidate
          end
          return epoch
        end
        """;

    // KEYS: the topic's keys (see remarks), 9 event-id marker, 10 (with ARGV 25) where the item's copy was last
    //       copied from.
    // ARGV: 1 channel, 2 candidate epoch, 3 event id, 4 type, 5 at, 6 data JSON, 7 history length,
    //       8 history TTL seconds, 9 op, 10 item id, 11 score ('seq': the new event's seq, kept on later
    //       changes; on remove, 'cursor' keeps the item's place for paging cursors), 12 JSON (item or state), 13 expiry unix ms (0: none), 14 most items (0: no ceiling;
    //       a new item beyond it is refused), 15 precondition, 16 expected JSON, 17 topic, 18 trim (0: none;
    //       else drop the oldest items beyond it), 19 pin ('1' pin, '0' unpin, '': no change),
    //       20 '1' when the topic's state must exist (entries need a published article),
    //       21 tombstone ('item': events of the removed item, 'all': every event, '': none),
    //       22 '1' to purge every item with the state (an unpublished article's entries go with it),
    //       23 the epoch the publishing node saw furthest ('' none), 24 the seq it saw in it (see Renew),
    //       25 'epoch:seq' of the topic the item copies ('' none; see SnapshotChange.CopiedFrom).
    // Returns {1, envelope} when published, {2, envelope} when this event id was published before,
    // {0, 'precondition'} when the snapshot was not as expected, {3, 'full'} when the ceiling refused a
    // new item, {4, 'missing'} when the topic's state is required and absent, or a removal of an item absent
    // from the snapshot (precondition 'absent') finds no event of it to tombstone, {5, 'stale'} when the item
    // was last copied from a later position of its source than this change, {6, 'kept'} when op 'keep' recorded
    // the position of a copy already in place (nothing published in 0, 3, 4, 5, 6).
    public const string Publish = Tombstone + "\n" + Renew + "\n" + """
        local marker = redis.call('GET', KEYS[9])
        if marker then return {2, marker} end

        if ARGV[20] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then return {4, 'missing'} end

        local copied = ARGV[25]
        if copied ~= '' then
          local last = redis.call('GET', KEYS[10])
          if last then
            local lastEpoch, lastSeq = string.match(last, '^(.*):(%d+)$')
            local epoch, seq = string.match(copied, '^(.*):(%d+)$')
            -- Another epoch: the source's Redis started over, its seqs do not compare; the copy is taken.
            if lastEpoch == epoch and tonumber(lastSeq) > tonumber(seq) then return {5, 'stale'} end
          end
        end

        local op = ARGV[9]
        local itemId = ARGV[10]
        local current = false
        if op == 'state' or op == 'clear' then
          current = redis.call('GET', KEYS[3])
        elseif itemId ~= '' then
          current = redis.call('HGET', KEYS[4], itemId)
        end
        local condition = ARGV[15]
        if (condition == 'absent' and current)
          or (condition == 'present' and not current)
          or (condition == 'equals' and current ~= ARGV[16]) then
          return {0, 'precondition'}
        end

        if op == 'keep' then
          redis.call('SET', KEYS[10], copied, 'EX', ARGV[8])
          return {6, 'kept'}
        end

        local most = tonumber(ARGV[14])
        if op == 'upsert' and most > 0 and not current and redis.call('HLEN', KEYS[4]) >= most then
          return {3, 'full'}
        end

        if ARGV[21] ~= '' then
          local rewritten = tombstone(KEYS[2], ARGV[21] == 'all', itemId)
          -- The takedown of an item gone from the snapshot (an expired alert) is only its history's: none there, nothing to do.
          if op == 'remove' and condition == 'absent' and rewritten == 0 then return {4, 'missing'} end
        end

        redis.call('HSETNX', KEYS[1], 'epoch', ARGV[2])
        local epoch = renew(KEYS[1], KEYS[2], ARGV[23], ARGV[24], ARGV[2])
        local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
        local envelope = '{"topic":"' .. ARGV[17] .. '","seq":' .. string.format('%d', seq)
          .. ',"epoch":"' .. epoch .. '","id":"' .. ARGV[3] .. '","type":"' .. ARGV[4]
          .. '","at":"' .. ARGV[5] .. '","data":' .. ARGV[6] .. '}'

        redis.call('LPUSH', KEYS[2], envelope)
        redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[7]) - 1)
        redis.call('EXPIRE', KEYS[2], ARGV[8])
        redis.call('SET', KEYS[9], envelope, 'EX', ARGV[8])

        if op == 'state' then
          redis.call('SET', KEYS[3], ARGV[12])
          redis.call('PERSIST', KEYS[1])
        elseif op == 'clear' then
          redis.call('DEL', KEYS[3])
          if ARGV[22] == '1' then
            redis.call('DEL', KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
            -- The position outlives the takedown only as long as the history that resumes from it.
            redis.call('EXPIRE', KEYS[1], ARGV[8])
          end
        elseif op == 'upsert' then
          redis.call('HSET', KEYS[4], itemId, ARGV[12])
          if ARGV[11] == 'seq' then
            redis.call('ZADD', KEYS[5], 'NX', seq, itemId)
          else
            redis.call('ZADD', KEYS[5], ARGV[11], itemId)
          end
          if tonumber(ARGV[13]) > 0 then
            redis.call('ZADD', KEYS[6], ARGV[13], itemId)
          else
            redis.call('ZREM', KEYS[6], itemId)
          end
          if ARGV[19] == '1' then
            redis.call('ZADD', KEYS[7], redis.call('ZSCORE', KEYS[5], itemId), itemId)
          elseif ARGV[19] == '0' then
            redis.call('ZREM', KEYS[7], itemId)
          end
          local trim = tonumber(ARGV[18])
          local count = redis.call('ZCARD', KEYS[5])
          if trim > 0 and count > trim then
            local dropped = redis.call('ZRANGE', KEYS[5], 0, count - trim - 1)
            for i = 1, #dropped do
              redis.call('HDEL', KEYS[4], dropped[i])
              redis.call('ZREM', KEYS[6], dropped[i])
              redis.call('ZREM', KEYS[7], dropped[i])
            end
            redis.call('ZREMRANGEBYRANK', KEYS[5], 0, count - trim - 1)
          end
        elseif op == 'remove' then
          local score = redis.call('ZSCORE', KEYS[5], itemId)
          if score and ARGV[11] == 'cursor' then redis.call('ZADD', KEYS[8], score, itemId) end
          redis.call('HDEL', KEYS[4], itemId)
          redis.call('ZREM', KEYS[5], itemId)
          redis.call('ZREM', KEYS[6], itemId)
          redis.call('ZREM', KEYS[7], itemId)
        end

        if copied ~= '' then redis.call('SET', KEYS[10], copied, 'EX', ARGV[8]) end

        redis.call('PUBLISH', ARGV[1], envelope)
        return {1, envelope}
        """;

    // KEYS: the topic's keys (see remarks).
    // ARGV: 1 the epoch a node saw, 2 the furthest seq it saw in it, 3 candidate epoch.
    // Starts a new epoch when Redis holds the topic behind what the node saw (see Renew); writes nothing
    // otherwise. Returns 1 when it started one, else 0.
    public const string RenewEpoch = Renew + "\n" + """
        if renew(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]) == ARGV[3] then return 1 end
        return 0
        """;

    // KEYS: the topic's keys (see remarks).
    // ARGV: 1 position seq (-1: none), 2 '1' to read the snapshot, 3 newest items in the snapshot (0: all;
    //       pinned items always come first and do not count).
    // Returns {epoch, seq, history found (1/0), history newest first, state, items, expiries, more (1/0)}.
    // Writes nothing: a topic nobody published to answers epoch '' and seq 0, and gets its epoch with its
    // first event (seq 1), which every reader of seq 0 accepts.
    public const string Read = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch') or ''
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
        local more = 0
        if ARGV[2] == '1' then
          state = redis.call('GET', KEYS[3]) or ''
          local window = tonumber(ARGV[3])
          local ids = redis.call('ZREVRANGE', KEYS[7], 0, -1)
          local pinned = {}
          for i = 1, #ids do pinned[ids[i]] = true end
          local newest
          if window > 0 then
            newest = redis.call('ZREVRANGE', KEYS[5], 0, window + #ids)
          else
            newest = redis.call('ZREVRANGE', KEYS[5], 0, -1)
          end
          local taken = 0
          for i = 1, #newest do
            if not pinned[newest[i]] then
              if window > 0 and taken == window then more = 1; break end
              ids[#ids + 1] = newest[i]
              taken = taken + 1
            end
          end
          if #ids > 0 then
            items = redis.call('HMGET', KEYS[4], unpack(ids))
            for i = 1, #ids do
              if not items[i] then items[i] = '' end
              expiries[i] = redis.call('ZSCORE', KEYS[6], ids[i]) or '0'
            end
          end
        end
        return {epoch, seq, found, history, state, items, expiries, more}
        """;

    // One page of a topic's items, newest first by their order score, for paging routes. Every item is
    // on exactly one page while items are added (they go in above the first page) or removed.
    // KEYS: the topic's keys (see remarks).
    // ARGV: 1 cursor item id ('' for the first page), 2 cursor score ('' to look it up from the id, in
    //       order or among removed items), 3 page size, 4 field to match ('' for every item), 5 value to
    //       match (lower case), 6 most items to look at for one page when matching.
    // Returns {epoch, seq, state exists (1/0), items JSON, next cursor id, next cursor score}
    // or {'cursor'} when the cursor is unknown. Writes nothing.
    public const string Page = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch') or ''
        local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
        local hasState = redis.call('EXISTS', KEYS[3])
        local limit = tonumber(ARGV[3])
        local field = ARGV[4]
        local budget = tonumber(ARGV[6])

        local cursorId = ARGV[1]
        local cursorScore = ARGV[2]
        local pending = {}
        if cursorId ~= '' then
          if cursorScore == '' then
            cursorScore = redis.call('ZSCORE', KEYS[5], cursorId) or redis.call('ZSCORE', KEYS[8], cursorId)
            if not cursorScore then return {'cursor'} end
          end
          -- Items sharing the cursor's score come in reverse member order after the cursor itself.
          local ties = redis.call('ZRANGEBYSCORE', KEYS[5], cursorScore, cursorScore)
          for i = #ties, 1, -1 do
            if ties[i] < cursorId then pending[#pending + 1] = {ties[i], cursorScore} end
          end
        end

        local page = {}
        local lastId, lastScore = '', ''
        local looked = 0
        local max = '+inf'
        if cursorId ~= '' then max = '(' .. cursorScore end
        local offset = 0
        local more = false
        while true do
          if #pending == 0 then
            -- Integers formatted as such: Lua 5.4 (Garnet) would send 2.0 for a division's result.
            local batch = redis.call('ZREVRANGEBYSCORE', KEYS[5], max, '-inf', 'WITHSCORES', 'LIMIT', string.format('%d', offset), 100)
            if #batch == 0 then break end
            offset = offset + #batch / 2
            for i = 1, #batch, 2 do pending[#pending + 1] = {batch[i], batch[i + 1]} end
          end
          if #page == limit or (field ~= '' and looked >= budget) then more = true; break end
          local candidate = table.remove(pending, 1)
          looked = looked + 1
          local json = redis.call('HGET', KEYS[4], candidate[1])
          local keep = json ~= false
          if keep and field ~= '' then
            local ok, item = pcall(cjson.decode, json)
            keep = ok and type(item) == 'table' and type(item[field]) == 'string' and string.lower(item[field]) == ARGV[5]
          end
          if keep then page[#page + 1] = json end
          lastId, lastScore = candidate[1], candidate[2]
        end
        if not more then lastId, lastScore = '', '' end
        return {epoch, seq, hasState, page, lastId, lastScore}
        """;
}
