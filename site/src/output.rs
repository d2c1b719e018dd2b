//! Where a build's files go: a folder on disk, or memory for `serve` and `check`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

/// Receives every file of a build. Paths are relative, with `/` (`guide/index.html`).
pub trait Output: Sync {
    /// Stores a file's bytes.
    fn write(&self, path: &str, bytes: Vec<u8>) -> Result<()>;

    /// Stores a copy of a file on disk.
    fn copy(&self, path: &str, source: &Path) -> Result<()> {
        let bytes =
            std::fs::read(source).with_context(|| format!("无法读取 `{}`", source.display()))?;
        self.write(path, bytes)
    }
}

/// Writes files under a folder.
pub struct DiskOutput {
    /// The output folder.
    pub dir: PathBuf,
}

impl Output for DiskOutput {
    fn write(&self, path: &str, bytes: Vec<u8>) -> Result<()> {
        let target = self.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("无法创建目录 `{}`", parent.display()))?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("无法写入 `{}`", target.display()))
    }

    fn copy(&self, path: &str, source: &Path) -> Result<()> {
        let target = self.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("无法创建目录 `{}`", parent.display()))?;
        }
        std::fs::copy(source, &target)
            .with_context(|| format!("无法复制 `{}`", source.display()))?;
        Ok(())
    }
}

/// Keeps files in memory, for the development server and the checker.
#[derive(Default)]
pub struct MemoryOutput {
    /// Files by relative path.
    pub files: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

impl MemoryOutput {
    /// Takes the collected files.
    pub fn into_files(self) -> HashMap<String, Arc<Vec<u8>>> {
        self.files.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl Output for MemoryOutput {
    fn write(&self, path: &str, bytes: Vec<u8>) -> Result<()> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string(), Arc::new(bytes));
        Ok(())
    }
}
