//! A learner's kubeconfig as Argo CD needs it: the API server and the JSON of Argo CD's
//! `ClusterConfig` (`pkg/apis/application/v1alpha1/types.go` at v2.12.3): `username`,
//! `password`, `bearerToken`, and `tlsClientConfig` with `insecure`, `serverName` and the
//! base64 PEM bytes `caData`, `certData`, `keyData` (Go's `[]byte` in JSON).
//!
//! The credentials it reads go into the learner's cluster Secret
//! ([`super::classroom::cluster_secret`]) and nowhere else: [`LearnerConnection`] never
//! shows them (`Debug` is redacted), and [`LearnerConnection::scrub`] takes them out of
//! any message before it becomes an error.

use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use serde_json::{Value, json};

/// How Argo CD reaches a learner's cluster: its API server and Argo CD's `ClusterConfig`.
/// Holds credentials, so `Debug` shows only the server.
pub struct LearnerConnection {
    /// The API server URL.
    pub server: String,
    /// Argo CD's `ClusterConfig` JSON.
    pub(super) config: Value,
    /// Every credential in `config`, as text, to scrub from messages.
    credentials: Vec<String>,
}

impl fmt::Debug for LearnerConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LearnerConnection")
            .field("server", &self.server)
            .field("config", &"<redacted>")
            .finish()
    }
}

impl LearnerConnection {
    /// Reads the user and cluster of `context` (default: the current one) of the
    /// kubeconfig at `path`. Files it names (`certificate-authority`,
    /// `client-certificate`, `client-key`, `tokenFile`) are read and inlined, since Argo
    /// CD cannot read the learner's disk; an `exec` or `auth-provider` user is refused,
    /// as its plugin would have to run inside Argo CD.
    pub fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Self, LearnerConnectionError> {
        let failed = |message: String| LearnerConnectionError::Kubeconfig {
            path: path.to_owned(),
            context: context.map(str::to_owned),
            message,
        };
        let kubeconfig =
            kube::config::Kubeconfig::read_from(path).map_err(|e| failed(without_quoted(&super::root_cause(&e))))?;
        let context_name = match context {
            Some(name) => name.to_owned(),
            None => kubeconfig
                .current_context
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| failed("it has no current context".into()))?,
        };
        let found = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context_name)
            .and_then(|c| c.context.as_ref())
            .ok_or_else(|| failed(format!("it has no context `{context_name}`")))?;
        let cluster = kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == found.cluster)
            .and_then(|c| c.cluster.as_ref())
            .ok_or_else(|| failed(format!("it has no cluster `{}`", found.cluster)))?;
        let user_name = found.user.clone().unwrap_or_default();
        let user = kubeconfig
            .auth_infos
            .iter()
            .find(|u| u.name == user_name)
            .and_then(|u| u.auth_info.as_ref())
            .ok_or_else(|| failed(format!("it has no user `{user_name}`")))?;
        let server = cluster
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| failed(format!("cluster `{}` has no `server`", found.cluster)))?;
        let unsupported = |method| LearnerConnectionError::UnsupportedAuth {
            path: path.to_owned(),
            user: user_name.clone(),
            method,
        };
        if user.exec.is_some() {
            return Err(unsupported("exec"));
        }
        if user.auth_provider.is_some() {
            return Err(unsupported("auth-provider"));
        }
        // The secret fields are `SecretString`s; their serialized form is the only way to
        // read them without another dependency on `secrecy`.
        let secret_fields = serde_json::to_value(user).map_err(|_| failed("its user cannot be read".into()))?;
        let secret = |field: &str| {
            secret_fields[field]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let read = |field: &'static str, file: &str| {
            fs_err::read(file).map_err(|source| LearnerConnectionError::CredentialFile {
                kubeconfig: path.to_owned(),
                field,
                source,
            })
        };
        // `*-data` fields are base64 already; decoding checks them and strips nothing a
        // re-encoding would not restore.
        let decode = |field: &'static str, data: &str| {
            serde_json::from_value::<ByteString>(Value::String(data.to_owned()))
                .map(|bytes| bytes.0)
                .map_err(|_| LearnerConnectionError::InvalidData {
                    kubeconfig: path.to_owned(),
                    field,
                })
        };
        let bytes = |data_field: &'static str,
                     data: Option<String>,
                     file_field: &'static str,
                     file: Option<&String>|
         -> Result<Option<Vec<u8>>, LearnerConnectionError> {
            match (data, file) {
                (Some(data), _) => decode(data_field, &data).map(Some),
                (None, Some(file)) => read(file_field, file).map(Some),
                (None, None) => Ok(None),
            }
        };
        let ca = bytes(
            "certificate-authority-data",
            cluster.certificate_authority_data.clone().filter(|s| !s.is_empty()),
            "certificate-authority",
            cluster.certificate_authority.as_ref(),
        )?;
        let cert = bytes(
            "client-certificate-data",
            user.client_certificate_data.clone().filter(|s| !s.is_empty()),
            "client-certificate",
            user.client_certificate.as_ref(),
        )?;
        let key = bytes(
            "client-key-data",
            secret("client-key-data"),
            "client-key",
            user.client_key.as_ref(),
        )?;
        let token = match (secret("token"), &user.token_file) {
            (Some(token), _) => Some(token),
            (None, Some(file)) => {
                let text = read("tokenFile", file)?;
                Some(String::from_utf8_lossy(&text).trim().to_owned()).filter(|t| !t.is_empty())
            }
            (None, None) => None,
        };
        let password = secret("password");
        if token.is_none() && (cert.is_none() || key.is_none()) && password.is_none() {
            return Err(LearnerConnectionError::NoCredentials {
                path: path.to_owned(),
                user: user_name,
            });
        }
        let insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
        let base64 = |bytes: &[u8]| serde_json::to_value(ByteString(bytes.to_vec())).expect("bytes serialize");
        let mut tls = json!({"insecure": insecure});
        if let Some(name) = cluster.tls_server_name.as_deref().filter(|n| !n.is_empty()) {
            tls["serverName"] = name.into();
        }
        // client-go refuses a CA together with `insecure`, so Argo CD would too.
        if let Some(ca) = ca.as_deref().filter(|_| !insecure) {
            tls["caData"] = base64(ca);
        }
        let mut credentials = Vec::new();
        for (field, value) in [("certData", &cert), ("keyData", &key)] {
            if let Some(value) = value {
                tls[field] = base64(value);
                credentials.push(String::from_utf8_lossy(value).into_owned());
                credentials.push(tls[field].as_str().unwrap_or_default().to_owned());
            }
        }
        let mut config = json!({"tlsClientConfig": tls});
        if let Some(token) = token {
            config["bearerToken"] = token.clone().into();
            credentials.push(token);
        }
        if let Some(password) = password {
            config["username"] = user.username.clone().unwrap_or_default().into();
            config["password"] = password.clone().into();
            credentials.push(password);
        }
        if let Some(proxy) = cluster.proxy_url.as_deref().filter(|p| !p.is_empty()) {
            config["proxyUrl"] = proxy.into();
        }
        // Secret lines of a PEM block are what must never show; its short header lines
        // (`-----BEGIN…`) are not secret and would scrub too much.
        credentials.extend(
            credentials
                .clone()
                .iter()
                .flat_map(|c| c.lines().map(str::to_owned).collect::<Vec<_>>())
                .filter(|line| !line.starts_with("-----")),
        );
        credentials.retain(|c| c.len() >= 8);
        Ok(Self {
            server,
            config,
            credentials,
        })
    }

    /// The same credentials for another address of the API server (the one Argo CD
    /// reaches, when the kubeconfig's is only reachable from the learner's machine): an
    /// `http(s)` URL.
    pub fn at(mut self, server: &str) -> Result<Self, LearnerConnectionError> {
        if !server.starts_with("https://") && !server.starts_with("http://") {
            return Err(LearnerConnectionError::LearnerServer {
                server: server.escape_debug().to_string(),
            });
        }
        self.server = server.to_owned();
        Ok(self)
    }

    /// Whether the server is a loopback address (`127.0.0.0/8`, `::1`, `localhost`), which
    /// an Argo CD running in the management cluster reaches as itself, never the learner's
    /// cluster.
    pub fn server_is_loopback(&self) -> bool {
        let rest = self
            .server
            .split_once("://")
            .map_or(self.server.as_str(), |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `text` with every credential of this connection replaced by `<redacted>`.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for credential in &self.credentials {
            text = text.replace(credential.as_str(), "<redacted>");
        }
        text
    }
}

/// `text` with every double-quoted part replaced by `"…"`: YAML parse errors quote the
/// value they choke on, which may be a credential.
fn without_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut parts = text.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (index, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if index % 2 == 0 { "…" } else { part });
    }
    out
}

/// Why a learner's kubeconfig, or the server given for it, cannot be Argo CD's way to the
/// learner's cluster. [`LearnerConnectionError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LearnerConnectionError {
    /// A `--learner-server` that is not an `http(s)` URL.
    #[error("`--learner-server {server}` is not an http(s) URL")]
    LearnerServer {
        /// The value given, with control characters escaped.
        server: String,
    },
    /// The learner's kubeconfig cannot be used.
    #[error("the learner's kubeconfig `{}`{}: {message}", path.display(),
        context.as_ref().map(|c| format!(" (context `{c}`)")).unwrap_or_default())]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The context asked for, if any.
        context: Option<String>,
        /// What is wrong (never a credential).
        message: String,
    },
    /// The user authenticates through a plugin that would have to run inside Argo CD.
    #[error("user `{user}` of the learner's kubeconfig `{}` authenticates with `{method}`, which Argo CD cannot run", path.display())]
    UnsupportedAuth {
        /// The kubeconfig.
        path: PathBuf,
        /// The user entry.
        user: String,
        /// `exec` or `auth-provider`.
        method: &'static str,
    },
    /// The user has no token, client certificate and key, or password.
    #[error("user `{user}` of the learner's kubeconfig `{}` has no credentials (token, client certificate and key, or password)", path.display())]
    NoCredentials {
        /// The kubeconfig.
        path: PathBuf,
        /// The user entry.
        user: String,
    },
    /// A file the kubeconfig names cannot be read.
    #[error("cannot read the `{field}` file of the learner's kubeconfig `{}`", kubeconfig.display())]
    CredentialFile {
        /// The kubeconfig.
        kubeconfig: PathBuf,
        /// The kubeconfig field naming the file.
        field: &'static str,
        /// The read error (it names the file).
        source: std::io::Error,
    },
    /// A `*-data` field that is not base64.
    #[error("`{field}` in the learner's kubeconfig `{}` is not base64", kubeconfig.display())]
    InvalidData {
        /// The kubeconfig.
        kubeconfig: PathBuf,
        /// The field.
        field: &'static str,
    },
}

impl LearnerConnectionError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::LearnerServer { .. } => "give the learner's API server as Argo CD reaches it, e.g. `https://10.0.0.12:6443`".into(),
            Self::Kubeconfig { .. } => "check it with `kubectl --kubeconfig FILE config get-contexts`, and pick a context with `--learner-context`".into(),
            Self::UnsupportedAuth { .. } | Self::NoCredentials { .. } => "give Argo CD credentials of its own: a ServiceAccount token (`kubectl create token`, or a `kubernetes.io/service-account-token` Secret) or a client certificate, in a kubeconfig passed with `--learner-kubeconfig`".into(),
            Self::CredentialFile { .. } => "check that the file exists and is readable, or inline it as the matching `*-data` field".into(),
            Self::InvalidData { .. } => "`*-data` fields hold the base64 of the PEM file, as `kubectl config view --raw --flatten` writes them".into(),
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
pub mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_loopback_learner_server_is_told_from_a_reachable_one() {
        let dir = tempfile::tempdir().unwrap();
        let at = |server| {
            let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
            connection.at(server).unwrap().server_is_loopback()
        };
        for loopback in [
            "https://127.0.0.1:6443",
            "https://127.1.2.3",
            "https://localhost:6443/",
            "https://LOCALHOST",
            "https://[::1]:6443",
        ] {
            assert!(at(loopback), "{loopback}");
        }
        for reachable in [
            "https://10.0.0.5:6443",
            "https://learner.example:6443",
            "https://[2001:db8::1]:6443",
            "https://localhost.example.com",
        ] {
            assert!(!at(reachable), "{reachable}");
        }
    }

    #[test]
    fn a_learner_server_must_be_an_http_url() {
        let dir = tempfile::tempdir().unwrap();
        let connection = || LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
        assert_eq!(
            connection().at("https://10.0.0.12:6443").unwrap().server,
            "https://10.0.0.12:6443"
        );
        let error = connection().at("10.0.0.12:6443").unwrap_err();
        assert!(
            matches!(error, LearnerConnectionError::LearnerServer { .. }),
            "{error:?}"
        );
    }

    /// base64, as kubeconfig `*-data` fields hold it.
    fn b64(text: &str) -> String {
        serde_json::to_value(ByteString(text.as_bytes().to_vec()))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    const KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nTUlJQ2tleS1vZi1hbGljZS10aGF0LW11c3Qtc3RheS1zZWNyZXQ=\n-----END EC PRIVATE KEY-----\n";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nTUlJQ2NlcnRpZmljYXRlLW9mLWFsaWNl\n-----END CERTIFICATE-----\n";
    const CA: &str = "-----BEGIN CERTIFICATE-----\nTUlJQ2F1dGhvcml0eQ==\n-----END CERTIFICATE-----\n";

    /// A kubeconfig in `dir` with contexts `cert` (client certificate, CA from a file
    /// next to it), `token` (a token file), `exec`, `provider` and `anonymous`.
    pub fn kubeconfig(dir: &Path) -> PathBuf {
        fs_err::write(dir.join("ca.crt"), CA).unwrap();
        fs_err::write(dir.join("token"), "sekret-token-of-bob\n").unwrap();
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: learner
  cluster: {{server: 'https://learner.example:6443', certificate-authority: ca.crt, tls-server-name: api.learner}}
- name: open
  cluster: {{server: 'https://open.example', insecure-skip-tls-verify: true, certificate-authority: ca.crt}}
users:
- name: alice
  user: {{client-certificate-data: {cert}, client-key-data: {key}}}
- name: bob
  user: {{tokenFile: token}}
- name: plugin
  user: {{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}}}
- name: provider
  user: {{auth-provider: {{name: gcp}}}}
- name: nobody
  user: {{}}
contexts:
- {{name: cert, context: {{cluster: learner, user: alice}}}}
- {{name: token, context: {{cluster: open, user: bob}}}}
- {{name: exec, context: {{cluster: learner, user: plugin}}}}
- {{name: provider, context: {{cluster: learner, user: provider}}}}
- {{name: anonymous, context: {{cluster: learner, user: nobody}}}}
current-context: cert
",
            cert = b64(CERT),
            key = b64(KEY),
        );
        let path = dir.join("kubeconfig");
        fs_err::write(&path, text).unwrap();
        path
    }

    #[test]
    fn builds_argo_cds_cluster_config_from_a_client_certificate_and_a_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), None).unwrap();
        assert_eq!(connection.server, "https://learner.example:6443");
        assert_eq!(
            connection.config,
            json!({"tlsClientConfig": {"insecure": false, "serverName": "api.learner",
                   "caData": b64(CA), "certData": b64(CERT), "keyData": b64(KEY)}})
        );
        let debug = format!("{connection:?}");
        assert!(!debug.contains(&b64(KEY)) && !debug.contains("TUlJQ2tleS"), "{debug}");
        let scrubbed = connection.scrub(&format!("refused {} and {}", b64(KEY), KEY));
        assert!(
            !scrubbed.contains("TUlJQ2tleS") && !scrubbed.contains(&b64(KEY)),
            "{scrubbed}"
        );
    }

    #[test]
    fn reads_a_token_file_and_drops_the_ca_of_an_insecure_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let connection = LearnerConnection::from_kubeconfig(&kubeconfig(dir.path()), Some("token")).unwrap();
        assert_eq!(
            connection.config,
            json!({"tlsClientConfig": {"insecure": true}, "bearerToken": "sekret-token-of-bob"})
        );
        assert_eq!(connection.scrub("token sekret-token-of-bob"), "token <redacted>");
    }

    #[test]
    fn refuses_plugin_users_anonymous_users_and_unknown_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let path = kubeconfig(dir.path());
        let error = |context| LearnerConnection::from_kubeconfig(&path, Some(context)).unwrap_err();
        assert!(matches!(
            error("exec"),
            LearnerConnectionError::UnsupportedAuth { method: "exec", .. }
        ));
        assert!(matches!(
            error("provider"),
            LearnerConnectionError::UnsupportedAuth {
                method: "auth-provider",
                ..
            }
        ));
        assert!(matches!(
            error("anonymous"),
            LearnerConnectionError::NoCredentials { .. }
        ));
        let missing = error("nope");
        assert!(matches!(missing, LearnerConnectionError::Kubeconfig { .. }));
        assert!(missing.to_string().contains("no context `nope`"), "{missing}");
        assert!(missing.hint().contains("--learner-context"));
    }

    #[test]
    fn quoted_values_leave_parse_errors() {
        assert_eq!(
            without_quoted(r#"invalid type: string "c2VjcmV0", expected a map at line 3"#),
            r#"invalid type: string "…", expected a map at line 3"#
        );
    }
}
