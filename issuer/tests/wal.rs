//! The SQLite WAL stays small: checkpointed after 1 MiB of frames and cut
//! back to 1 MiB, not SQLite's default 4 MiB that a small volume (and the
//! readiness probe's 64 KiB write) would run into.

use issuer::store::SqliteStore;

#[tokio::test]
async fn sqlite_wal_stays_near_one_mib() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("issuer.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let pool = store.pool();
    let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(pages, 256);
    let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(limit, 1024 * 1024);

    // 3 MiB in 64 KiB commits: below SQLite's default checkpoint point.
    sqlx::query("CREATE TABLE wal_test (b BLOB)")
        .execute(pool)
        .await
        .unwrap();
    for _ in 0..48 {
        sqlx::query("INSERT INTO wal_test (b) VALUES (zeroblob(65536))")
            .execute(pool)
            .await
            .unwrap();
    }
    let wal = std::fs::metadata(dir.path().join("issuer.db-wal"))
        .unwrap()
        .len();
    assert!(wal < 1536 * 1024, "WAL grew to {wal} bytes");
    pool.close().await;
}
