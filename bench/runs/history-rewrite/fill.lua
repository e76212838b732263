local n = tonumber(ARGV[1])
local batch = {}
for i = 1, n do
  batch[#batch + 1] = '{"topic":"article:x","seq":' .. i .. ',"epoch":"0123456789abcdef","id":"e' .. i .. '","type":"entry.posted","at":"2026-12-07T18:00:00.000Z","data":{"id":"entry-' .. i .. '","kind":"entry","text":"' .. string.rep('x', 300) .. '","pinned":false}}'
  if #batch == 1000 then redis.call('LPUSH', KEYS[1], unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('LPUSH', KEYS[1], unpack(batch)) end
return redis.call('LLEN', KEYS[1])
