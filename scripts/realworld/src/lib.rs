//! Empty: this workspace only exists so that cargo resolves a Cargo.lock over the Debian corpus.
