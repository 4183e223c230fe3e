//! Profile webhooks: `Profile.CallbackPortraitSet` (1047/48733).
