//! Cloud moderation results: `ContentCallback.ResultNotify` (1047/78240, 1047/77840; 269/95616).
