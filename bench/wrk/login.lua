-- POST /oauth/token: a password-realm login of one of $BENCH_LOGIN_USERS users
-- (login<k>@bench.example, password $BENCH_PASSWORD) picked at random per request, for the
-- application $BENCH_APP_ID / $BENCH_APP_SECRET; or, with $BENCH_GRANT=client_credentials, the
-- management client's token for the Management API. Any answer but 200 is counted and shown.
wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.headers["Content-Type"] = "application/json"

local users = tonumber(os.getenv("BENCH_LOGIN_USERS") or "100")
local grant = os.getenv("BENCH_GRANT") or "password"
failed = 0

function init()
  math.randomseed(os.time() + (id or 0))
end

function request()
  if grant == "client_credentials" then
    return wrk.format(nil, nil, nil,
      '{"grant_type":"client_credentials","client_id":"' .. os.getenv("BENCH_CLIENT_ID") .. '","client_secret":"' ..
      os.getenv("BENCH_CLIENT_SECRET") .. '","audience":"' .. os.getenv("BENCH_AUDIENCE") .. '"}')
  end
  local k = math.random(0, users - 1)
  return wrk.format(nil, nil, nil,
    '{"grant_type":"http://auth0.com/oauth/grant-type/password-realm","realm":"Username-Password-Authentication",' ..
    '"client_id":"' .. os.getenv("BENCH_APP_ID") .. '","client_secret":"' .. os.getenv("BENCH_APP_SECRET") ..
    '","username":"login' .. k .. '@bench.example","password":"' .. os.getenv("BENCH_PASSWORD") ..
    '","scope":"openid profile email"}')
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
    if failed <= 5 then io.stderr:write("HTTP ", status, ": ", body, "\n") end
  end
end
