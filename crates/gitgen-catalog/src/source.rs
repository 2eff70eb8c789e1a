//! Reading a catalog's files into memory, from disk or from the copy in the binary.
//!
//! This is the only place catalog files are read. It refuses what could lead outside
//! the catalog (symlinks, odd folder names) and what could not be a template (invalid
//! UTF-8, very large files), so later stages work on plain in-memory text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::CatalogError;
use gitgen_base::layout::CATALOG_DIR;
use gitgen_base::untrusted::{self, FileError};

/// A catalog file larger than this is refused: no template needs it, and it bounds memory.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The files of one lesson folder, by path relative to the folder (`/`-separated).
pub type LessonFiles = BTreeMap<String, String>;

/// Every lesson folder's files, by folder name.
#[derive(Debug, Clone, Default)]
pub struct CatalogFiles {
    /// Where the files came from, for messages: `catalog` or `<embedded>/catalog`.
    pub origin: PathBuf,
    /// Folder name → files.
    pub lessons: BTreeMap<String, LessonFiles>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_catalog.rs"));
}

impl CatalogFiles {
    /// The built-in course, as compiled into the binary.
    pub fn embedded() -> Self {
        let mut lessons: BTreeMap<String, LessonFiles> = BTreeMap::new();
        for (path, text) in embedded::FILES {
            if let Some((lesson, rest)) = path.split_once('/') {
                lessons
                    .entry(lesson.to_owned())
                    .or_default()
                    .insert(rest.to_owned(), (*text).to_owned());
            }
        }
        CatalogFiles {
            origin: PathBuf::from(CATALOG_DIR),
            lessons,
        }
    }

    /// The built-in course as `(path under catalog/, text)` pairs, for `gitgen init`.
    pub fn embedded_files() -> impl Iterator<Item = (&'static str, &'static str)> {
        embedded::FILES.iter().copied()
    }

    /// Reads `dir` (a repo's `catalog/`): one sub-folder per lesson. Files directly in
    /// `dir` (its README) and names starting with `.` are not lessons and are skipped.
    pub fn read(dir: &Path) -> Result<Self, CatalogError> {
        let mut folders = Vec::new();
        for entry in fs_err::read_dir(dir).map_err(|source| CatalogError::io(dir, source))? {
            let entry = entry.map_err(|source| CatalogError::io(dir, source))?;
            let name = entry.file_name();
            let path = entry.path();
            let Some(name) = name.to_str().map(str::to_owned) else {
                return Err(CatalogError::NotUtf8Name { path });
            };
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(|source| CatalogError::io(&path, source))?;
            if kind.is_symlink() {
                return Err(symlink(path));
            }
            if kind.is_dir() {
                folders.push((name, path));
            }
        }
        // Sorted so the result, and the first error reported, never depend on the order
        // the file system lists entries in.
        folders.sort();
        let lessons = folders
            .into_par_iter()
            .map(|(name, path)| Ok((name, read_lesson_folder(&path)?)))
            .collect::<Result<BTreeMap<_, _>, CatalogError>>()?;
        Ok(CatalogFiles {
            origin: dir.to_owned(),
            lessons,
        })
    }
}

fn symlink(path: PathBuf) -> CatalogError {
    let target = fs_err::read_link(&path).ok();
    CatalogError::Symlink { path, target }
}

/// Where the first invalid byte is, so the message can point at it.
fn not_utf8(path: &Path, err: &std::string::FromUtf8Error) -> CatalogError {
    let (line, column) = gitgen_yaml::invalid_utf8_position(err);
    CatalogError::NotUtf8 {
        path: path.to_owned(),
        line,
        column,
    }
}

/// The bytes of a file the folder listing says is a plain file, refused past
/// [`MAX_FILE_BYTES`]. The size is learned by reading, which costs no `stat` and also
/// holds for a file that grows while it is read; the file is opened without following a
/// link or waiting on a FIFO, should the entry have changed since it was listed.
fn read_limited(path: &Path) -> Result<Vec<u8>, CatalogError> {
    untrusted::read_plain(path, MAX_FILE_BYTES, "a catalog file").map_err(|err| match err {
        FileError::TooLarge { path, bytes, .. } => CatalogError::TooLarge { path, bytes },
        FileError::Symlink { path, target } => CatalogError::Symlink { path, target },
        FileError::Io { path, source } => CatalogError::Io { path, source },
        other => CatalogError::File(other),
    })
}

fn read_lesson_folder(root: &Path) -> Result<LessonFiles, CatalogError> {
    let mut files = LessonFiles::new();
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for entry in fs_err::read_dir(&dir).map_err(|source| CatalogError::io(&dir, source))? {
            let entry = entry.map_err(|source| CatalogError::io(&dir, source))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(CatalogError::NotUtf8Name { path });
            };
            if name.starts_with('.') {
                continue;
            }
            // The entry's type comes with the folder listing: no `stat` per file.
            let kind = entry.file_type().map_err(|source| CatalogError::io(&path, source))?;
            let relative = format!("{prefix}{name}");
            if kind.is_symlink() {
                return Err(symlink(path));
            } else if kind.is_dir() {
                pending.push((path, format!("{relative}/")));
            } else if !kind.is_file() {
                return Err(CatalogError::File(FileError::NotRegular {
                    path,
                    found: untrusted::describe(kind),
                    expected: "a plain file",
                }));
            } else {
                let bytes = read_limited(&path)?;
                let text = String::from_utf8(bytes).map_err(|err| not_utf8(&path, &err))?;
                // Windows checkouts may carry CRLF; output is LF on every machine.
                let text = if text.contains('\r') {
                    text.replace("\r\n", "\n")
                } else {
                    text
                };
                files.insert(relative, text);
            }
        }
    }
    Ok(files)
}
