//! Runs `az` / `azd` for the CLI credentials: stdin closed (never waits for input), in its own
//! process group, killed with its children when the fetch is abandoned (time limit, client
//! freed), so a hanging CLI never outlives the call.

use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{Command, Output, Stdio};

#[derive(Debug)]
pub(crate) struct CliExecutor;

/// Kills the process group unless the process finished.
struct KillGuard {
    #[cfg_attr(not(unix), allow(dead_code))]
    pid: u32,
    done: bool,
}

impl Drop for KillGuard {
    fn drop(&mut self) {
        if !self.done {
            #[cfg(unix)]
            // SAFETY: plain syscall; the negative pid names the group created for this child.
            unsafe {
                libc::kill(-(self.pid as libc::pid_t), libc::SIGKILL);
            }
        }
    }
}

// azure_identity's `Executor` is an `async_trait`; this is its expanded form.
impl azure_identity::Executor for CliExecutor {
    fn run<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        program: &'life1 OsStr,
        args: &'life2 [&'life3 OsStr],
    ) -> Pin<Box<dyn Future<Output = io::Result<Output>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        Box::pin(async move {
            let child = cmd.spawn()?;
            let mut guard = KillGuard {
                pid: child.id(),
                done: false,
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name("aoai-cli-credential".into())
                .spawn(move || {
                    let _ = tx.send(child.wait_with_output());
                })?;
            let out = rx
                .await
                .map_err(|_| io::Error::other("the process wait thread ended early"))?;
            guard.done = true;
            out
        })
    }
}
