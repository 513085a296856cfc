//! What a scrape sets aside of each service for the families after the first.
//!
//! The text format wants each family's samples together, so a scrape that reads the
//! services once must keep what the other families need until the first is out. A
//! service's record is small (its `id` and `name` labels as already spelled, its status,
//! last ping and last run: about 60 bytes), kept in a buffer of [`BUFFER`] bytes that is
//! written to an unlinked file in `HB_DATA_DIR` whenever it fills: a million services
//! make about 60 MB of file, never more than the buffer in memory. The file is read once
//! per family, in order, on a blocking thread.
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::status::Status;

/// Records are written out once this many bytes wait in memory.
pub const BUFFER: usize = 1024 * 1024;

/// "No value" for the optional times (never a real Unix ms).
const NONE: i64 = i64::MIN;

/// The services' records, in the order they were read.
pub struct Spill {
    buf: Vec<u8>,
    file: File,
    /// Set while the file could not be unlinked at once (not on Unix): removed on drop.
    path: Option<PathBuf>,
    written: bool,
}

/// One service's record as read back.
pub struct Record {
    /// `id="…",name="…"`, escaped.
    pub spelled: String,
    pub status: Status,
    pub last_ping_at: Option<i64>,
    pub last_run_ms: Option<i64>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Spill {
    /// An empty spill whose file lives (unlinked) in `dir`, created if missing.
    pub fn create(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            ".metrics-spill-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Unlinked at once, so that nothing is left behind if the scrape or the server
        // stops half-way; the open handle keeps the data until it is dropped.
        let path = std::fs::remove_file(&path).err().map(|_| path);
        Ok(Self {
            buf: Vec::with_capacity(BUFFER + 4096),
            file,
            path,
            written: false,
        })
    }

    pub fn push(
        &mut self,
        spelled: &str,
        status: Status,
        last_ping_at: Option<i64>,
        last_run_ms: Option<i64>,
    ) {
        let status = Status::ALL
            .iter()
            .position(|s| *s == status)
            .expect("a status is in Status::ALL") as u8;
        self.buf
            .extend_from_slice(&(spelled.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(spelled.as_bytes());
        self.buf.push(status);
        self.buf
            .extend_from_slice(&last_ping_at.unwrap_or(NONE).to_le_bytes());
        self.buf
            .extend_from_slice(&last_run_ms.unwrap_or(NONE).to_le_bytes());
    }

    /// Whether the buffer should be written out.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= BUFFER
    }

    /// Write the buffer to the file, on a blocking thread.
    pub async fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let mut file = self.file.try_clone()?;
        let mut buf = tokio::task::spawn_blocking(move || {
            file.write_all(&buf)?;
            Ok::<_, io::Error>(buf)
        })
        .await
        .map_err(io::Error::other)??;
        buf.clear();
        self.buf = buf;
        self.written = true;
        Ok(())
    }

    /// The records from the start (blocking: call it on a blocking thread). What still
    /// waits in memory is read from there when nothing was written out, else appended
    /// to the file first.
    pub fn reader(mut self) -> io::Result<Reader> {
        if !self.written {
            let buf = std::mem::take(&mut self.buf);
            return Ok(Reader {
                inner: Source::Memory(Cursor::new(buf)),
                _spill: self,
            });
        }
        self.file.write_all(&self.buf)?;
        self.buf = Vec::new();
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Reader {
            inner: Source::File(BufReader::with_capacity(256 * 1024, file)),
            _spill: self,
        })
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum Source {
    Memory(Cursor<Vec<u8>>),
    File(BufReader<File>),
}

/// Reads the records back, as often as there are families.
pub struct Reader {
    inner: Source,
    /// Keeps the file (or its removal on drop) for as long as it is read.
    _spill: Spill,
}

impl Reader {
    /// Back to the first record.
    pub fn rewind(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Source::Memory(c) => c.set_position(0),
            Source::File(f) => {
                f.seek(SeekFrom::Start(0))?;
            }
        }
        Ok(())
    }

    /// The next record into `rec` (its `spelled` reused); `false` after the last.
    pub fn next_into(&mut self, rec: &mut Record) -> io::Result<bool> {
        let r: &mut dyn Read = match &mut self.inner {
            Source::Memory(c) => c,
            Source::File(f) => f,
        };
        let mut len = [0u8; 4];
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e),
        }
        let mut text = std::mem::take(&mut rec.spelled).into_bytes();
        text.clear();
        text.resize(u32::from_le_bytes(len) as usize, 0);
        r.read_exact(&mut text)?;
        rec.spelled = String::from_utf8(text).map_err(io::Error::other)?;
        let mut rest = [0u8; 17];
        r.read_exact(&mut rest)?;
        rec.status = *Status::ALL
            .get(rest[0] as usize)
            .ok_or_else(|| io::Error::other("a spilled status out of range"))?;
        let time = |b: &[u8]| {
            let v = i64::from_le_bytes(b.try_into().expect("8 bytes"));
            (v != NONE).then_some(v)
        };
        rec.last_ping_at = time(&rest[1..9]);
        rec.last_run_ms = time(&rest[9..17]);
        Ok(true)
    }
}

impl Default for Record {
    fn default() -> Self {
        Self {
            spelled: String::new(),
            status: Status::New,
            last_ping_at: None,
            last_run_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(reader: &mut Reader) -> Vec<(String, Status, Option<i64>, Option<i64>)> {
        let mut rec = Record::default();
        let mut out = Vec::new();
        while reader.next_into(&mut rec).unwrap() {
            out.push((
                rec.spelled.clone(),
                rec.status,
                rec.last_ping_at,
                rec.last_run_ms,
            ));
        }
        out
    }

    #[tokio::test]
    async fn records_come_back_in_order_from_memory_and_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for (n, spill_every) in [(3usize, None), (20_000, Some(7_000))] {
            let mut spill = Spill::create(dir.path()).unwrap();
            let mut want = Vec::new();
            for i in 0..n {
                let spelled = format!("id=\"s{i}\",name=\"名 {i} \\\"x\\\"\"");
                let status = Status::ALL[i % Status::ALL.len()];
                let ping = (i % 3 != 0).then_some(1_700_000_000_000 + i as i64);
                let run = (i % 5 == 0).then_some(i as i64 * 7);
                spill.push(&spelled, status, ping, run);
                want.push((spelled, status, ping, run));
                if spill_every.is_some_and(|k| i % k == k - 1) {
                    spill.write_out().await.unwrap();
                }
            }
            let mut reader = spill.reader().unwrap();
            assert!(matches!(
                (&reader.inner, spill_every),
                (Source::Memory(_), None) | (Source::File(_), Some(_))
            ));
            assert_eq!(read_all(&mut reader), want);
            reader.rewind().unwrap();
            assert_eq!(read_all(&mut reader), want, "read again after a rewind");
        }
        // Nothing is left in the directory: the file was unlinked when it was made.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
