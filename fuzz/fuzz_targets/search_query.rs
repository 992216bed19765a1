//! The search query parser and analyser must never panic, whatever `q` holds, and whatever
//! they accept must compile to SQL whose parameters carry every value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else { return };
    if let Ok(query) = roster::search::parse(q) {
        let condition = roster::search::sqlite::compile(&query);
        assert_eq!(condition.sql.matches('?').count(), condition.binds.len());
    }
});
