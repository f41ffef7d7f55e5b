//! Wire behaviour of the Genesys Cloud facade against local servers: OAuth client credentials,
//! the asynchronous query lifecycle and its chunks, results by cursor and by download,
//! realtime pages, retries and pacing on tokio's paused clock, checkpoints and resume, and
//! credential safety.

mod anomalies;
mod auth;
mod decode;
mod fidelity;
mod query;
mod realtime;
mod retries;
mod security;
mod support;
