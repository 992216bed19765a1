-- GET /api/v2/users-by-email?email=: a user's email picked at random (from $BENCH_KEYS) per request.
dofile(os.getenv("BENCH_WRK") .. "/random.lua")
random_requests("/api/v2/users-by-email?email=")
