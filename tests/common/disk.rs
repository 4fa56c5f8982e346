//! A store on a small disk of its own, to fill up under a running server: a tmpfs mounted for
//! the test (which needs root; elsewhere the test says it was skipped) holding the SQLite file,
//! or the tablespace of a PostgreSQL test database.

use std::io::Write;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use trailspark_store_contract::postgres::{server_url, TestDatabase};

use super::{backend, Backend, TestApp};

/// Says that the test did not run, straight to the stream (the harness captures `eprintln!`
/// of passing tests, and a skip must be seen).
fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: disk_full: {why}");
}

/// A tmpfs mounted for this test, unmounted when dropped (after the server is gone).
pub struct Tmpfs {
    dir: tempfile::TempDir,
    mount: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`); `None`, said, when this may not mount.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .stdin(Stdio::null())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Self { dir, mount }),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                let why = why.lines().next().unwrap_or_default();
                skipped(&format!("cannot mount a tmpfs (needs root): {why}"));
                None
            }
            Err(e) => {
                skipped(&format!("cannot run mount: {e}"));
                None
            }
        }
    }

    /// What the disk holds: its use and its files, for a failure's message.
    pub fn describe(&self) -> String {
        let df = Command::new("df").arg("-k").arg(&self.mount).output();
        let mut text = df.map_or_else(
            |e| format!("(df: {e})\n"),
            |out| String::from_utf8_lossy(&out.stdout).into_owned(),
        );
        for entry in std::fs::read_dir(&self.mount)
            .into_iter()
            .flatten()
            .flatten()
        {
            let size = entry.metadata().map_or(0, |m| m.len());
            text.push_str(&format!(
                "{size:>12} {}\n",
                entry.file_name().to_string_lossy()
            ));
        }
        text
    }

    fn filler(&self) -> PathBuf {
        self.mount.join("filler")
    }

    /// Takes every free byte of the disk with a filler file; returns how many it took.
    pub fn fill(&self) -> usize {
        let mut file = std::fs::File::create(self.filler()).expect("create the filler");
        let chunk = vec![0xA5_u8; 1 << 20];
        let mut taken = 0;
        // Large writes first, then smaller ones for what the store left between them.
        for size in [1 << 20, 64 << 10, 4 << 10, 512] {
            while let Ok(n @ 1..) = file.write(&chunk[..size]) {
                taken += n;
            }
        }
        taken
    }

    /// Removes the filler.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.mount).status();
        if !matches!(unmounted, Ok(s) if s.success()) {
            // Something still holds a file there: detach it now, freed once that closes.
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
    }
}

/// A PostgreSQL tablespace, dropped when this is (after the database in it).
struct Tablespace {
    admin_url: String,
    name: String,
}

impl Drop for Tablespace {
    fn drop(&mut self) {
        let (url, sql) = (
            self.admin_url.clone(),
            format!("DROP TABLESPACE {}", self.name),
        );
        // Drop runs inside a runtime: a thread with its own runtime can wait for the server.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async { connect(&url).await.batch_execute(&sql).await })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the tablespace {}", self.name);
        }
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// The server over a store on the tmpfs, of the run's backend. Fields drop in order: the
/// server, its database, the tablespace, then the disk.
pub struct OnSmallDisk {
    pub app: TestApp,
    _database: Option<TestDatabase>,
    _tablespace: Option<Tablespace>,
    pub disk: Tmpfs,
}

impl OnSmallDisk {
    /// `None`, said, where the disk cannot be made here.
    pub async fn start() -> Option<Self> {
        match backend() {
            Backend::Sqlite => {
                let disk = Tmpfs::mount("24m")?;
                // A plain path is a SQLite store. `spawn_on_url` labels its store PostgreSQL,
                // which only `store_contents` reads (not used here). The WAL is copied into
                // the database file from 1 MiB on, as a disk this small needs: from the
                // default 64 MiB the store's own WAL would fill it, with nothing to free.
                let db = disk.mount.join("trailspark.db");
                let db = db.to_str().expect("UTF-8 path");
                let app = TestApp::spawn_on_url(db, &["--sqlite-checkpoint-mib", "1"]);
                Some(Self {
                    app,
                    _database: None,
                    _tablespace: None,
                    disk,
                })
            }
            Backend::Postgres => Self::start_postgres().await,
        }
    }

    /// A fresh database whose tablespace is on the tmpfs (a fresh database takes 8 MB of it).
    async fn start_postgres() -> Option<Self> {
        let admin_url = server_url()?;
        let admin = connect(&admin_url).await;
        let data_dir: String = admin
            .query_one("SHOW data_directory", &[])
            .await
            .expect("SHOW data_directory (the test needs a superuser)")
            .get(0);
        // The tablespace's directory must belong to the server's user: the data directory's.
        let Ok(owner) = std::fs::metadata(&data_dir) else {
            skipped("PostgreSQL's data directory is not on this machine: no tablespace here");
            return None;
        };
        let disk = Tmpfs::mount("48m")?;
        let location = disk.mount.join("pg");
        std::fs::create_dir(&location).expect("tablespace directory");
        chown(&location, Some(owner.uid()), Some(owner.gid())).expect("chown");
        std::fs::set_permissions(disk.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("let the server's user reach the tablespace");
        let database = TestDatabase::create().await?;
        let name = database.url.rsplit('/').next().expect("database name");
        let name = name.split('?').next().expect("database name").to_owned();
        let tablespace = Tablespace {
            admin_url,
            name: format!("{name}_disk"),
        };
        admin
            .batch_execute(&format!(
                "CREATE TABLESPACE {} LOCATION '{}'",
                tablespace.name,
                location.display()
            ))
            .await
            .expect("create the tablespace");
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET TABLESPACE {}",
                tablespace.name
            ))
            .await
            .expect("move the test database to the tmpfs");
        let app = TestApp::spawn_on_url(&database.url, &[]);
        Some(Self {
            app,
            _database: Some(database),
            _tablespace: Some(tablespace),
            disk,
        })
    }
}
