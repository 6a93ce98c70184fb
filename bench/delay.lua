-- HAProxy action "delay": holds each request DELAY_MS milliseconds (env) before it is forwarded.
-- core.msleep yields, so concurrent requests are delayed in parallel, as real S3 round trips are.
local delay_ms = tonumber(os.getenv("DELAY_MS") or "20")
core.register_action("delay", { "http-req" }, function(txn)
  core.msleep(delay_ms)
end, 0)
