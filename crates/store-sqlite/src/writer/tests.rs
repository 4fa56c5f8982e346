//! Tests of the single writer: batches, and what a failure in one does to the others.

use std::sync::Arc;

use super::*;

/// A failed job in a batch is rolled back alone: its neighbours commit and are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    db::connect(&path, Duration::from_secs(1))
        .unwrap()
        .execute_batch("CREATE TABLE t (v TEXT)")
        .unwrap();
    let writer = Arc::new(Writer::start(&path, Duration::from_secs(1), 64, 64, 1_000).unwrap());
    // Hold the writer, so that the next jobs queue up and form one batch.
    let slow = {
        let w = Arc::clone(&writer);
        tokio::spawn(async move {
            w.write(|_, _| {
                std::thread::sleep(Duration::from_millis(200));
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let insert = |v: &'static str, fail: bool| {
        let w = Arc::clone(&writer);
        tokio::spawn(async move {
            w.write(move |conn, _| {
                conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
                    .map_err(sqlite_error)?;
                if fail {
                    return Err(StoreError::Other("refused".into()));
                }
                Ok(())
            })
            .await
        })
    };
    let (good, bad, other) = (
        insert("good", false),
        insert("bad", true),
        insert("other", false),
    );
    assert!(slow.await.unwrap().is_ok());
    assert!(good.await.unwrap().is_ok());
    assert!(matches!(bad.await.unwrap(), Err(StoreError::Other(_))));
    assert!(other.await.unwrap().is_ok());
    writer.close().await;
    let conn = db::connect(&path, Duration::from_secs(1)).unwrap();
    let mut values: Vec<String> = conn
        .prepare("SELECT v FROM t")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    values.sort();
    assert_eq!(
        values,
        ["good", "other"],
        "the failed job's insert was rolled back, only it"
    );
}
