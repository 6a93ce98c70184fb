-- HAProxy action "lua.delay": sleeps a random 1..DELAY_MS milliseconds before the request is
-- forwarded (tests/faults/haproxy.cfg). DELAY_METHODS (e.g. "PUT,POST,DELETE"), when set,
-- limits the delay to requests of those methods.
local methods = os.getenv("DELAY_METHODS") or ""
core.register_action("delay", { "http-req" }, function(txn)
  if methods ~= "" and not string.find("," .. methods .. ",", "," .. txn.f:method() .. ",", 1, true) then
    return
  end
  local max = tonumber(os.getenv("DELAY_MS") or "100")
  core.msleep(math.random(1, math.max(1, max)))
end, 0)
