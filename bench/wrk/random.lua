-- Shared by read_random.lua and email_random.lua: each request takes a random line of the file
-- $BENCH_KEYS (written by examples/bench_data.rs, one URL-encoded id or email a line) and asks
-- for PREFIX .. line. Each thread has its own seed, the same on every run, so that the servers
-- compared in one run get the same sequence of requests. With $BENCH_RATE (req/s in all), each
-- of the $BENCH_CONNECTIONS connections waits CONNECTIONS/RATE s between requests (wrk's delay()).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function random_requests(prefix)
  local keys = {}
  for line in io.lines(os.getenv("BENCH_KEYS")) do keys[#keys + 1] = line end
  assert(#keys > 0, "no keys in $BENCH_KEYS")
  function init()
    math.randomseed(seed)
  end
  local rate = tonumber(os.getenv("BENCH_RATE") or "")
  if rate then
    local gap = math.floor(tonumber(os.getenv("BENCH_CONNECTIONS") or "32") * 1000 / rate + 0.5)
    function delay()
      return gap
    end
  end
  function request()
    return wrk.format(nil, prefix .. keys[math.random(#keys)])
  end
end
