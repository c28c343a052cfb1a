//! Helpers of the Entra ID tests: the process-environment lock, a test CA made with the
//! `openssl` CLI, the fake HTTPS authority (tests/fakes/authority.py), the fake `az`/`azd`
//! (tests/fakes/bin) and an in-process IMDS transport.

#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsString;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// Every variable azure_identity or the library reads; each test starts with none of them.
pub const CLEARED_VARS: &[&str] = &[
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "FAKE_CLI_DIR",
    "OPENAI_API_TYPE",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_DEPLOYMENT_NAME",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_VERSION",
    "SSL_CERT_FILE",
];

static ENV_LOCK: Mutex<()> = Mutex::new(());
static ORIGINAL_PATH: OnceLock<Option<OsString>> = OnceLock::new();

/// The process environment, owned by one test at a time: azure_identity reads
/// IDENTITY_ENDPOINT, AZURE_* and PATH from it, so every test of this binary holds this for
/// its whole run. Dropping it restores what was changed.
pub struct TestEnv {
    saved: Vec<(String, Option<OsString>)>,
    _guard: MutexGuard<'static, ()>,
}

impl TestEnv {
    /// Takes the lock and clears every credential-related variable; PATH is set to the
    /// system directories only (no real `az`/`azd` of the developer's machine).
    pub fn new() -> TestEnv {
        let guard = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        ORIGINAL_PATH.get_or_init(|| std::env::var_os("PATH"));
        let mut env = TestEnv {
            saved: Vec::new(),
            _guard: guard,
        };
        for v in CLEARED_VARS {
            env.unset(v);
        }
        env.set("PATH", "/usr/bin:/bin");
        env
    }

    fn save(&mut self, name: &str) {
        if !self.saved.iter().any(|(n, _)| n == name) {
            self.saved.push((name.to_string(), std::env::var_os(name)));
        }
    }

    pub fn set(&mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) {
        self.save(name);
        // SAFETY: every test of this binary holds ENV_LOCK while it touches the environment.
        unsafe { std::env::set_var(name, value) };
    }

    pub fn unset(&mut self, name: &str) {
        self.save(name);
        // SAFETY: as above.
        unsafe { std::env::remove_var(name) };
    }

    /// Puts the fake `az`/`azd` first on PATH.
    pub fn with_fake_clis(&mut self, cli: &FakeCli) {
        self.set("PATH", format!("{}:/usr/bin:/bin", fakes_bin().display()));
        self.set("FAKE_CLI_DIR", &cli.dir);
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for (name, value) in self.saved.drain(..).rev() {
            // SAFETY: the lock is still held (the guard field drops after this).
            unsafe {
                match value {
                    Some(v) => std::env::set_var(&name, v),
                    None => std::env::remove_var(&name),
                }
            }
        }
    }
}

/// Finds a program on the PATH the test binary started with.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = ORIGINAL_PATH
        .get_or_init(|| std::env::var_os("PATH"))
        .clone()?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn fakes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes")
}

pub fn fakes_bin() -> PathBuf {
    fakes_dir().join("bin")
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under cargo's per-target temp dir (removed on drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "entra-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A throwaway CA and a leaf for 127.0.0.1 signed by it (rustls refuses a self-signed
/// leaf), made once per test run with the `openssl` CLI.
pub struct TestCa {
    pub dir: PathBuf,
    pub ca_pem: PathBuf,
    pub leaf_pem: PathBuf,
    pub leaf_key: PathBuf,
}

pub fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        let openssl = which("openssl").expect(
            "the Entra ID tests need the openssl CLI to make a test CA (apt-get install openssl)",
        );
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        // CAs of earlier runs whose process is gone.
        for e in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("entra-ca-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = tmp.join(format!("entra-ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let run = |args: &[&str]| {
            let out = Command::new(&openssl)
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=aoai Entra test CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
            "-subj", "/CN=127.0.0.1",
        ]);
        run(&[
            "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext",
        ]);
        TestCa {
            ca_pem: dir.join("ca.pem"),
            leaf_pem: dir.join("leaf.pem"),
            leaf_key: dir.join("leaf.key"),
            dir,
        }
    })
}

/// The fake Entra authority (tests/fakes/authority.py) over HTTPS with the test CA's leaf.
pub struct FakeAuthority {
    pub port: u16,
    /// `https://127.0.0.1:PORT`
    pub url: String,
    record: TempDir,
    child: Child,
}

impl FakeAuthority {
    /// `args`: extra options such as `["--secret", "S"]`.
    pub fn start(args: &[&str]) -> FakeAuthority {
        let ca = test_ca();
        let python = which("python3").expect("the Entra ID tests need python3");
        let record = TempDir::new("authority");
        let mut child = Command::new(python)
            .arg(fakes_dir().join("authority.py"))
            .arg("--cert")
            .arg(&ca.leaf_pem)
            .arg("--key")
            .arg(&ca.leaf_key)
            .arg("--record")
            .arg(record.path().join("requests.jsonl"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the fake authority");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the fake authority did not start");
        let port: u16 = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected fake authority line {line:?}"));
        FakeAuthority {
            port,
            url: format!("https://127.0.0.1:{port}"),
            record,
            child,
        }
    }

    /// Every token request so far: `{"path", "form": {..}, "content_type"}`.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.record.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for FakeAuthority {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state directory of the fake `az`/`azd` (see tests/fakes/bin/az).
pub struct FakeCli {
    pub dir: PathBuf,
    _tmp: TempDir,
}

impl FakeCli {
    pub fn new() -> FakeCli {
        let tmp = TempDir::new("cli");
        FakeCli {
            dir: tmp.path().to_path_buf(),
            _tmp: tmp,
        }
    }

    /// What every run of `tool` does ("ok TOKEN TTL", "fail CODE MSG", "sleep SECS").
    pub fn default(&self, tool: &str, behaviour: &str) -> &FakeCli {
        std::fs::write(self.dir.join(format!("{tool}.default")), behaviour).unwrap();
        self
    }

    /// What run `n` (1-based) of `tool` does.
    pub fn nth(&self, tool: &str, n: usize, behaviour: &str) -> &FakeCli {
        std::fs::write(self.dir.join(format!("{tool}.{n}")), behaviour).unwrap();
        self
    }

    pub fn count(&self, tool: &str) -> usize {
        std::fs::read_to_string(self.dir.join(format!("{tool}.count")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn args(&self, tool: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join(format!("{tool}.args")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn file_exists(&self, name: &str) -> bool {
        self.dir.join(name).exists()
    }
}

/// What the in-process IMDS fake answers.
#[derive(Clone, Debug)]
pub enum ImdsMode {
    /// A token response with this token and lifetime.
    Token(&'static str, u64),
    /// A connection failure for every request (nothing at 169.254.169.254).
    Unreachable,
    /// IMDS is there but the identity is not assigned (400).
    NotAssigned,
}

/// A request the IMDS fake saw: its URL and headers.
pub type Seen = (String, Vec<(String, String)>);

/// An `azure_core::http::HttpClient` that answers IMDS requests in process: nothing leaves
/// the test, 169.254.169.254 is never contacted.
#[derive(Debug)]
pub struct FakeImds {
    pub mode: ImdsMode,
    /// URL and headers of every request.
    pub seen: Mutex<Vec<Seen>>,
}

impl FakeImds {
    pub fn new(mode: ImdsMode) -> FakeImds {
        FakeImds {
            mode,
            seen: Mutex::new(Vec::new()),
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    }

    fn answer(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        use azure_core::http::{AsyncRawResponse, StatusCode, headers::Headers};
        let url = request.url().to_string();
        let headers = request
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
            .collect::<Vec<_>>();
        self.seen
            .lock()
            .unwrap()
            .push((url.clone(), headers.clone()));
        assert!(
            url.starts_with("http://169.254.169.254/metadata/identity/oauth2/token"),
            "unexpected URL {url}"
        );
        let has_metadata = headers.iter().any(|(k, v)| k == "metadata" && v == "true");
        match &self.mode {
            ImdsMode::Unreachable => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Connection,
                "connect error: No route to host (os error 113)",
            )),
            // The probe (no Metadata header) gets IMDS's 400.
            _ if !has_metadata => Ok(AsyncRawResponse::from_bytes(
                StatusCode::BadRequest,
                Headers::new(),
                r#"{"error":"invalid_request","error_description":"Required metadata header not specified"}"#,
            )),
            ImdsMode::NotAssigned => Ok(AsyncRawResponse::from_bytes(
                StatusCode::BadRequest,
                Headers::new(),
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
            )),
            ImdsMode::Token(token, ttl) => {
                let exp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + ttl;
                let body = serde_json::json!({
                    "access_token": token,
                    "client_id": "00000000-0000-0000-0000-0000000e0002",
                    "expires_in": ttl.to_string(),
                    "expires_on": exp.to_string(),
                    "ext_expires_in": ttl.to_string(),
                    "not_before": (exp - ttl).to_string(),
                    "resource": "https://cognitiveservices.azure.com",
                    "token_type": "Bearer",
                });
                Ok(AsyncRawResponse::from_bytes(
                    StatusCode::Ok,
                    Headers::new(),
                    body.to_string(),
                ))
            }
        }
    }
}

// `HttpClient` is an `async_trait`; this is its expanded form (no async-trait dependency).
impl azure_core::http::HttpClient for FakeImds {
    fn execute_request<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: &'life1 azure_core::http::Request,
    ) -> Pin<
        Box<
            dyn Future<Output = azure_core::Result<azure_core::http::AsyncRawResponse>>
                + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let r = self.answer(request);
        Box::pin(async move { r })
    }
}
