//! The search query parser and analyser must never panic, whatever `q` holds, and whatever
//! they accept must compile to SQL whose numbered parameters `$1..$n` carry every value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else { return };
    if let Ok(query) = roster::search::parse(q) {
        let condition = roster::search::sqlite::compile(&query);
        let mut numbers: Vec<usize> = condition
            .sql
            .split('$')
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().expect("every `$` in the SQL is a numbered parameter")
            })
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers, (1..=condition.binds.len()).collect::<Vec<_>>());
    }
});
