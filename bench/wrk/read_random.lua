-- GET /api/v2/users/{id}: a user picked at random (from the ids in $BENCH_KEYS) per request.
dofile(os.getenv("BENCH_WRK") .. "/random.lua")
random_requests("/api/v2/users/")
