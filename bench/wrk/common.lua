-- Shared by update.lua and delete.lua: the users create.lua made (ids email|t<c>n<k>, k up to
-- the count of create thread c, read from $BENCH_CREATED), split evenly between this run's
-- threads: thread t of T ($BENCH_THREADS) takes every T-th user in the order (c, k).
bench_threads = {}

function setup(thread)
  table.insert(bench_threads, thread)
  thread:set("tid", #bench_threads)
end

function init()
  nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
  -- A create thread's last requests (one per connection) may have been cut off when its run
  -- ended, their users never stored: leave them out.
  local in_flight = math.ceil(tonumber(os.getenv("BENCH_CONNECTIONS") or "32") / nthreads)
  counts = {}
  for line in io.lines(os.getenv("BENCH_CREATED")) do
    local c, count = line:match("^(%d+) (%d+)")
    counts[tonumber(c)] = math.max(0, tonumber(count) - in_flight)
  end
  total = 0
  for _, count in ipairs(counts) do total = total + count end
  position = tid - nthreads -- the next call moves to this thread's first user
end

-- The path of this thread's next user, or nil when it has had them all.
function next_path()
  position = position + nthreads
  if position > total then return nil end
  local index = position
  for c, count in ipairs(counts) do
    if index <= count then return "/api/v2/users/email%7Ct" .. c .. "n" .. index end
    index = index - count
  end
end

function restart()
  position = tid - nthreads
end

-- Shows the first few failures (the benchmark then stops: every request must succeed).
failures_shown = 0

function response(status, headers, body)
  if status >= 300 and failures_shown < 5 then
    failures_shown = failures_shown + 1
    io.stderr:write("HTTP ", status, ": ", body, "\n")
  end
end
