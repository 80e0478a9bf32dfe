-- wrk script for tools/bench_etcd.sh: every request is `PUT /v2/keys/bench/k<n>` with the form
-- body value=<100 bytes>, the etcd v2 "set". <n> differs per thread and per request, and cycles
-- through 100,000 keys per thread so that a long run does not grow either store without bound.
local value = string.rep("x", 100)
local body = "value=" .. value
local keys_per_thread = 100000

local thread_counter = 0
function setup(thread)
  thread:set("thread_id", thread_counter)
  thread_counter = thread_counter + 1
end

local n = 0
function request()
  n = n + 1
  local key = (thread_id or 0) * keys_per_thread + (n % keys_per_thread)
  return wrk.format("PUT", "/v2/keys/bench/k" .. key,
                    { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
