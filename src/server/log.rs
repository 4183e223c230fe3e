//! The server's log lines, which compile to nothing without the `tracing` feature. Declared
//! first in `server`, so that every module of the server has them.

macro_rules! debug {
    ($($t:tt)*) => {{
        #[cfg(feature = "tracing")]
        tracing::debug!($($t)*);
    }};
}

macro_rules! info {
    ($($t:tt)*) => {{
        #[cfg(feature = "tracing")]
        tracing::info!($($t)*);
    }};
}

macro_rules! warn {
    ($($t:tt)*) => {{
        #[cfg(feature = "tracing")]
        tracing::warn!($($t)*);
    }};
}
