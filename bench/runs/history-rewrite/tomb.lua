local function tombstone(history, all, itemId)
  local events = redis.call('LRANGE', history, 0, -1)
  for i = 1, #events do
    local ok, e = pcall(cjson.decode, events[i])
    if ok and type(e) == 'table' and type(e.data) == 'table' and e.data.removed ~= true
      and (all or e.data.id == itemId) then
      local data = '{"removed":true}'
      if type(e.data.id) == 'string' then data = '{"id":' .. cjson.encode(e.data.id) .. ',"removed":true}' end
      redis.call('LSET', history, i - 1, '{"topic":"' .. e.topic .. '","seq":' .. string.format('%d', e.seq)
        .. ',"epoch":"' .. e.epoch .. '","id":"' .. e.id .. '","type":"' .. e.type
        .. '","at":"' .. e.at .. '","data":' .. data .. '}')
    end
  end
end
tombstone(KEYS[1], true, '')
return 1
