#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| slim_fuzz::zstd(data));
