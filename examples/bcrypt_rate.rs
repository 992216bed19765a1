//! How many bcrypt verifications (cost 10, as Roster stores passwords) this machine does per
//! second on `THREADS` threads (default: every core): the ceiling of password logins, which
//! `bench/logins.sh` measures beside it.
//!
//! cargo run --release --example bcrypt_rate -- [SECONDS] [THREADS]

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let threads: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let hash = bcrypt::hash("Bench-Passw0rd!", 10).expect("hash");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    assert!(bcrypt::verify("Bench-Passw0rd!", &hash).expect("verify"));
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    println!("bcrypt cost 10: {:.1} verifications/s on {threads} thread(s)", total as f64 / seconds as f64);
}
