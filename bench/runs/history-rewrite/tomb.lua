-- BusScripts.Tombstone with all = true (every entry rewritten), in one of two ways.
-- ARGV[1]: 'lset' sets each entry in place, as the shipped script does; 'whole' deletes the list and pushes
-- it back in chunks of 1,000, as the epoch restamp does.
local function tombstone(history, all, itemId, whole)
  local events = redis.call('LRANGE', history, 0, -1)
  for i = 1, #events do
    local ok, e = pcall(cjson.decode, events[i])
    if ok and type(e) == 'table' and type(e.data) == 'table' and e.data.removed ~= true
      and (all or e.data.id == itemId) then
      local data = '{"removed":true}'
      if type(e.data.id) == 'string' then data = '{"id":' .. cjson.encode(e.data.id) .. ',"removed":true}' end
      local tombstoned = '{"topic":"' .. e.topic .. '","seq":' .. string.format('%d', e.seq)
        .. ',"epoch":"' .. e.epoch .. '","id":"' .. e.id .. '","type":"' .. e.type
        .. '","at":"' .. e.at .. '","data":' .. data .. '}'
      if whole then events[i] = tombstoned else redis.call('LSET', history, i - 1, tombstoned) end
    end
  end
  if whole then
    redis.call('DEL', history)
    for i = 1, #events, 1000 do redis.call('RPUSH', history, unpack(events, i, math.min(i + 999, #events))) end
  end
end
tombstone(KEYS[1], true, '', ARGV[1] == 'whole')
return 1
