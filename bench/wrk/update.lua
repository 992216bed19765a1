-- PATCH /api/v2/users/{id}: a user_metadata merge (a read-modify-write in the store), on the
-- users create.lua made, one after another, starting over at the end.
dofile(os.getenv("BENCH_WRK") .. "/common.lua")
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"

seen = 0

function request()
  local path = next_path()
  if not path then
    restart()
    path = next_path()
  end
  seen = seen + 1
  return wrk.format(nil, path, nil, '{"user_metadata":{"plan":"patched","seen":' .. seen .. '}}')
end
