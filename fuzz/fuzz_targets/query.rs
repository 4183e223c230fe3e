#![no_main]
//! See `tencent_chat_webhook_fuzz::query`.

libfuzzer_sys::fuzz_target!(
    init: tencent_chat_webhook_fuzz::seeds::init(),
    |data: &[u8]| tencent_chat_webhook_fuzz::query::run(data)
);
