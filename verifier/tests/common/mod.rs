//! The shared verifier fixtures live in the dev-only `test-kit` crate
//! (`test_kit::verifier`): the demo scheme with extra keys, a resident's
//! credentials, the prover's answers and a daemon on 127.0.0.1:0.
#![allow(unused_imports)]

pub use test_kit::verifier::*;
