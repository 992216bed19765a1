-- POST /api/v2/users: each request creates a new user on the passwordless `email` connection
-- (no password, so no bcrypt: what is measured is the request path and the store's write), with
-- the id email|t<thread>n<counter>. done() writes how many each thread sent to $BENCH_CREATED,
-- which update.lua and delete.lua read to address the users created here. $BENCH_ID_PREFIX
-- replaces the "t" (so that a second run on the same database makes other users).
wrk.method = "POST"
wrk.path = "/api/v2/users"
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- wrk calls request() once on the first thread before the run, to check it, and never sends that
-- request: so each thread's first id is n0, which update.lua and delete.lua do not address (else
-- PATCH, when it starts over, asks for a user that was never created).
counter = -1
failed = 0
local prefix = os.getenv("BENCH_ID_PREFIX") or "t"

function request()
  counter = counter + 1
  local id = prefix .. tid .. "n" .. counter
  return wrk.format(nil, nil, nil,
    '{"connection":"email","email":"' .. id .. '@bench.example","email_verified":true,"user_id":"' .. id ..
    '","user_metadata":{"plan":"bench","n":' .. counter .. '}}')
end

function response(status, headers, body)
  if status ~= 201 then
    failed = failed + 1
    if failed <= 5 then io.stderr:write("HTTP ", status, ": ", body, "\n") end
  end
end

function done()
  local out = assert(io.open(os.getenv("BENCH_CREATED"), "w"))
  for _, thread in ipairs(threads) do
    out:write(thread:get("tid"), " ", thread:get("counter"), " ", thread:get("failed"), "\n")
  end
  out:close()
end
