//! TLS for the harness's clients: ring as rustls's provider, and the platform's roots read once.

/// Makes ring the process's rustls crypto provider unless one is installed already: reqwest
/// builds a TLS configuration for every client, and the workspace gives it rustls without a
/// provider of its own (so no aws-lc C build).
pub(crate) fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race to install; either way a provider is installed after.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The TLS configuration that trusts the platform's roots, made once per process: reading them
/// is file reads and PEM parsing that a client per scenario would repeat. The embedded target's
/// servers take it for their callback clients too (`mock_server::ServeOptions::callback_tls`).
pub fn platform_tls() -> Result<rustls::ClientConfig, String> {
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt as _;
            install_crypto_provider();
            rustls::ClientConfig::builder()
                .with_platform_verifier()
                .map(|builder| builder.with_no_client_auth())
                .map_err(|e| format!("cannot read the platform's trusted roots: {e}"))
        })
        .clone()
}
