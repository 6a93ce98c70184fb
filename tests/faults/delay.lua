-- HAProxy action "lua.delay": sleeps a random 1..DELAY_MS milliseconds before the request is
-- forwarded (tests/faults/haproxy.cfg).
core.register_action("delay", { "http-req" }, function(txn)
  local max = tonumber(os.getenv("DELAY_MS") or "100")
  core.msleep(math.random(1, math.max(1, max)))
end, 0)
