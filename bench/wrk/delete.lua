-- DELETE /api/v2/users/{id}: each user create.lua made, once; a thread stops when it has
-- deleted its share (so the rate counts real deletes only), and says so: wrk divides by the
-- whole duration, so a thread that runs out makes the rate too low.
dofile(os.getenv("BENCH_WRK") .. "/common.lua")
wrk.method = "DELETE"

function request()
  local path = next_path()
  if not path then
    wrk.thread:stop()
    return wrk.format(nil, "/api/v2/users/email%7Cgone")
  end
  return wrk.format(nil, path)
end

function done()
  for _, thread in ipairs(bench_threads) do
    local t, n, total, position = thread:get("tid"), thread:get("nthreads"), thread:get("total"), thread:get("position")
    -- position is the last user sent, or past the end once the thread has had them all
    local last = position <= total and position or total - ((total - t) % n)
    local share = total >= t and math.floor((total - t) / n) + 1 or 0
    local sent = last >= t and math.floor((last - t) / n) + 1 or 0
    if sent >= share then
      io.stderr:write(string.format("  delete thread %d ran out of users (%d): the DELETE rate is understated\n", t, share))
    end
  end
end
