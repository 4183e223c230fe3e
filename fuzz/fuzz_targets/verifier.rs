#![no_main]
//! See `tencent_chat_webhook_fuzz::verifier`.

use tencent_chat_webhook_fuzz::verifier::{VerifierInput, run};

libfuzzer_sys::fuzz_target!(
    init: tencent_chat_webhook_fuzz::seeds::init(),
    |input: VerifierInput| run(input)
);
