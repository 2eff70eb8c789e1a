//! Files of a repo that may come from a stranger: a pull request can carry symlinks,
//! and a checkout can hold FIFOs, sockets or devices that git never made. Every file
//! gitgen reads from a repo is opened here, and every folder it reads or writes under
//! is checked here first: a symlink is refused with its path, never followed; a file
//! that is not a plain file is refused without being opened for reading (opening a
//! FIFO blocks, reading a device never ends); and every read is bounded.
//!
//! It owns the checks, not the policy of what to do with a refused file: callers wrap
//! [`FileError`] in their own error, and a few (the rendered tree, where a too-large
//! file is just not render's) handle one kind themselves.

use std::fs::FileType;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A file or folder of the repo gitgen refuses to use.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A symlink where gitgen reads or writes: it could lead outside the repo.
    #[error("`{}` is a symbolic link{}; gitgen does not follow links in a repo", path.display(), target.as_ref().map(|t| format!(" to `{}`", t.display())).unwrap_or_default())]
    Symlink {
        /// The link.
        path: PathBuf,
        /// Where it points, when that can be read.
        target: Option<PathBuf>,
    },
    /// Not a plain file (or, where a folder belongs, not a folder).
    #[error("`{}` is {found}, not {expected}", path.display())]
    NotRegular {
        /// The entry.
        path: PathBuf,
        /// What it is: `a FIFO`, `a socket`, `a device`, `a folder`, `a file`.
        found: &'static str,
        /// What gitgen wanted there: `a plain file` or `a folder`.
        expected: &'static str,
    },
    /// A file over its size limit.
    #[error("`{}` is {bytes} bytes, over the {} limit for {what}", path.display(), mib(*limit))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit it broke.
        limit: u64,
        /// What the file is, for the message (`gitgen.yaml`, `the toggle file`…).
        what: &'static str,
    },
    /// The file could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

impl FileError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            FileError::Symlink { .. } => Some(
                "replace the link with a plain copy of what it should hold, or delete it; a repo from someone else can use links to reach files outside it"
                    .to_owned(),
            ),
            FileError::NotRegular { expected, .. } => Some(format!(
                "delete it or put {expected} in its place; a repo holds only plain files and folders"
            )),
            FileError::TooLarge { .. } => Some("no real one is this large: remove what was added to it".to_owned()),
            FileError::Io { source, .. } => io_hint(source),
        }
    }
}

/// What to do about an I/O error whose kind says it: permissions, a full disk, a
/// read-only file system. `None` when the error itself is all there is to say.
pub fn io_hint(error: &std::io::Error) -> Option<String> {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::PermissionDenied => Some(
            "check that you own the repo and may write to it (`ls -l`); gitgen never needs root".to_owned(),
        ),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some(
            "free some space on the disk that holds the repo, then run the command again; a change cut short is finished or dropped by the next gitgen command"
                .to_owned(),
        ),
        ErrorKind::ReadOnlyFilesystem => Some("the repo is on a read-only file system; work in a writable copy".to_owned()),
        _ => None,
    }
}

/// What a directory entry is, for messages.
pub fn describe(kind: FileType) -> &'static str {
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_file() {
        "a file"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "an unknown kind of file"
    }
}

fn symlink(path: &Path) -> FileError {
    FileError::Symlink {
        path: path.to_owned(),
        target: fs_err::read_link(path).ok(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether `path` is a folder gitgen may use: `false` when it does not exist, an error
/// when it is a symlink or anything but a folder.
pub fn folder(path: &Path) -> Result<bool, FileError> {
    match fs_err::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(meta) if meta.file_type().is_symlink() => Err(symlink(path)),
        Ok(meta) => Err(FileError::NotRegular {
            path: path.to_owned(),
            found: describe(meta.file_type()),
            expected: "a folder",
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(io(path)(err)),
    }
}

/// Checks every folder on the way from `root` to `relative` (a `/`-separated path
/// inside it, which is not itself checked): each must be a real folder or missing.
pub fn folders_on_the_way(root: &Path, relative: &str) -> Result<(), FileError> {
    let mut path = root.to_owned();
    let mut parts: Vec<&str> = relative.split('/').collect();
    parts.pop();
    for part in parts {
        path.push(part);
        if !folder(&path)? {
            return Ok(());
        }
    }
    Ok(())
}

/// Opens `path` for reading without following a symlink (`O_NOFOLLOW`) and without
/// waiting on a FIFO (`O_NONBLOCK`): the belt to the type checks made before, should
/// the entry change in between.
// fs-err's errors hide the OS error code, which tells a symlink (`ELOOP`) apart; errors
// are wrapped with the path right here instead.
#[allow(clippy::disallowed_methods)]
fn open(path: &Path) -> Result<std::fs::File, FileError> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => symlink(path),
            _ => io(path)(err),
        })
}

/// The bytes of a plain file, or `None` when it does not exist. A symlink or anything
/// but a plain file is refused without being opened for reading; a file over `limit`
/// bytes is refused without being read (`what` names it in the message).
pub fn read(path: &Path, limit: u64, what: &'static str) -> Result<Option<Vec<u8>>, FileError> {
    let meta = match fs_err::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io(path)(err)),
    };
    if meta.file_type().is_symlink() {
        return Err(symlink(path));
    }
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
            found: describe(meta.file_type()),
            expected: "a plain file",
        });
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            bytes: meta.len(),
            limit,
            what,
        });
    }
    read_plain(path, limit, what).map(Some)
}

/// The bytes of `path`, which a folder listing just said is a plain file (so no `stat`
/// is spent on it): opened without following links or waiting, read up to `limit`.
pub fn read_plain(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, FileError> {
    let file = open(path)?;
    let mut bytes = Vec::new();
    // One byte past the limit tells a file at the limit from one over it, even one
    // that grows while it is read.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io(path))?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            bytes: fs_err::symlink_metadata(path).map_or(limit + 1, |meta| meta.len().max(limit + 1)),
            limit,
            what,
        });
    }
    Ok(bytes)
}

/// Opens (creating it if needed) the lock file gitgen holds while it works, without
/// following a symlink and without truncating what is there.
// As in `open`: the OS error code tells a symlink apart, and the path is added here.
#[allow(clippy::disallowed_methods)]
pub fn open_lock_file(path: &Path) -> Result<std::fs::File, FileError> {
    match fs_err::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(symlink(path)),
        Ok(meta) if !meta.is_file() => {
            return Err(FileError::NotRegular {
                path: path.to_owned(),
                found: describe(meta.file_type()),
                expected: "a plain file",
            });
        }
        _ => {}
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => symlink(path),
            _ => io(path)(err),
        })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_to_do_about_permissions_and_a_full_disk() {
        for kind in [
            std::io::ErrorKind::PermissionDenied,
            std::io::ErrorKind::StorageFull,
            std::io::ErrorKind::ReadOnlyFilesystem,
        ] {
            assert!(io_hint(&kind.into()).is_some(), "{kind:?}");
        }
        let full = FileError::Io {
            path: "x".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        };
        assert!(full.hint().unwrap().contains("free some space"));
    }

    #[test]
    fn refuses_a_fifo_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
        let err = read(&fifo, 10, "a test file").unwrap_err();
        assert!(matches!(err, FileError::NotRegular { found: "a FIFO", .. }), "{err}");
    }

    #[test]
    fn refuses_a_device_as_a_device_not_as_an_empty_file() {
        let err = read(Path::new("/dev/zero"), 10, "a test file").unwrap_err();
        assert!(matches!(err, FileError::NotRegular { found: "a device", .. }), "{err}");
    }

    #[test]
    fn refuses_a_symlink_and_names_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let err = read(&link, 10, "a test file").unwrap_err();
        assert!(matches!(&err, FileError::Symlink { target: Some(t), .. } if t == Path::new("/etc/hostname")));
        assert!(matches!(folder(&link), Err(FileError::Symlink { .. })));
    }

    #[test]
    fn refuses_a_file_over_its_limit_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        fs_err::write(&big, [b'x'; 11]).unwrap();
        let err = read(&big, 10, "a test file").unwrap_err();
        assert!(
            matches!(
                err,
                FileError::TooLarge {
                    bytes: 11,
                    limit: 10,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(read(&big, 11, "a test file").unwrap().unwrap().len(), 11);
    }

    #[test]
    fn a_missing_file_or_folder_is_none_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("no"), 10, "a test file").unwrap().is_none());
        assert!(!folder(&dir.path().join("no")).unwrap());
        folders_on_the_way(dir.path(), "no/such/file").unwrap();
    }

    #[test]
    fn a_symlinked_folder_on_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("/tmp", dir.path().join("a/b")).unwrap();
        assert!(matches!(
            folders_on_the_way(dir.path(), "a/b/c"),
            Err(FileError::Symlink { .. })
        ));
        folders_on_the_way(dir.path(), "a/b").unwrap();
    }

    #[test]
    fn the_lock_file_is_never_a_link_and_never_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs_err::write(&outside, "keep").unwrap();
        let lock = dir.path().join("lock");
        std::os::unix::fs::symlink(&outside, &lock).unwrap();
        assert!(matches!(open_lock_file(&lock), Err(FileError::Symlink { .. })));
        assert_eq!(fs_err::read_to_string(&outside).unwrap(), "keep");
        open_lock_file(&outside).unwrap();
        assert_eq!(fs_err::read_to_string(&outside).unwrap(), "keep");
    }
}
