//! Hosted tenants on PostgreSQL (`tenancy/`): each tenant's database, and each of its
//! snapshots, is a schema of the server's own database.
//!
//! A tenant's schema is made by migrating an empty one (done ahead, as spares) and served by a
//! pool whose connections' search path is that schema, then `public`, where the server's own
//! migrations created the extensions (pg_trgm). A snapshot is a copy of the tables alone
//! (`CREATE TABLE … AS TABLE …`, one transaction, so one consistent view) and of the
//! sequences' positions; restoring one fills a migrated spare from it, table by table in the
//! order their foreign keys need, sets the sequences, and renames the spare, in one
//! transaction. Names are generated, `roster_` and random letters, so any number of servers
//! may share the database.

use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

use super::postgres;

/// Where snapshots keep their sequences' positions.
const SEQUENCES_TABLE: &str = "_roster_sequences";
/// The migrator's own table: a spare's is the binary's, kept as it is.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The server's PostgreSQL database, for making, copying and dropping tenants' schemas.
pub struct Schemas {
    database_url: String,
    /// For making, copying and dropping schemas.
    pool: PgPool,
    /// The one every hosted tenant's store uses (`postgres::hosted_pool`).
    hosted: PgPool,
}

/// A table of a schema: its columns (those written, not generated) and the tables its foreign
/// keys name.
struct Table {
    name: String,
    columns: Vec<String>,
    references: Vec<String>,
}

impl Schemas {
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let (options, _) = postgres::connect_options(database_url, None)?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {}", super::display_url(database_url)))?;
        let hosted = postgres::hosted_pool(database_url).await?;
        Ok(Self { database_url: database_url.to_owned(), pool, hosted })
    }

    /// The database's URL and the pool hosted tenants' stores share.
    pub(super) fn hosted(&self) -> (&str, &PgPool) {
        (&self.database_url, &self.hosted)
    }

    /// A new schema named `prefix` and random letters, migrated and prepared as a store's.
    pub async fn create_migrated(&self, prefix: &str) -> anyhow::Result<String> {
        let schema = new_name(prefix);
        self.run(&format!("CREATE SCHEMA {}", quote(&schema))).await?;
        let migrated = postgres::migrate_schema(&self.database_url, &schema, super::users::refresh_search_index).await;
        if let Err(error) = migrated {
            let _ = self.drop_schema(&schema).await;
            return Err(error.context(format!("cannot migrate the schema {schema}")));
        }
        Ok(schema)
    }

    /// Renames `schema` to `prefix` and random letters; returns the new name.
    pub async fn rename(&self, schema: &str, prefix: &str) -> anyhow::Result<String> {
        let renamed = new_name(prefix);
        self.run(&format!("ALTER SCHEMA {} RENAME TO {}", quote(schema), quote(&renamed))).await?;
        Ok(renamed)
    }

    /// A new schema, `prefix` and random letters, with a copy of `from`'s tables (their rows
    /// alone) and of its sequences' positions, as of one moment.
    pub async fn snapshot(&self, from: &str, prefix: &str) -> anyhow::Result<String> {
        let snapshot = new_name(prefix);
        let (source, target) = (quote(from), quote(&snapshot));
        let mut sql = format!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; CREATE SCHEMA {target};");
        for table in self.tables(from).await? {
            let table = quote(&table.name);
            sql.push_str(&format!("CREATE TABLE {target}.{table} AS TABLE {source}.{table};"));
        }
        let positions: Vec<String> = self
            .sequences(from)
            .await?
            .iter()
            .map(|sequence| {
                format!(
                    "SELECT {}::text AS name, last_value, is_called FROM {source}.{}",
                    literal(sequence),
                    quote(sequence)
                )
            })
            .collect();
        let sequences = format!("{target}.{}", quote(SEQUENCES_TABLE));
        if positions.is_empty() {
            sql.push_str(&format!("CREATE TABLE {sequences} (name text, last_value bigint, is_called boolean);"));
        } else {
            sql.push_str(&format!("CREATE TABLE {sequences} AS {};", positions.join(" UNION ALL ")));
        }
        self.in_transaction(&sql).await?;
        Ok(snapshot)
    }

    /// Makes `spare`, a migrated schema (a spare, or a generation a reset replaced, `empty`ed),
    /// hold what `snapshot` holds, and renames it `prefix` and random letters: all or nothing.
    /// Returns the new name.
    pub async fn restore(&self, snapshot: &str, spare: &str, prefix: &str) -> anyhow::Result<String> {
        let restored = new_name(prefix);
        let (from, into) = (quote(snapshot), quote(spare));
        let copied: std::collections::HashMap<String, Vec<String>> =
            self.tables(snapshot).await?.into_iter().map(|table| (table.name, table.columns)).collect();
        anyhow::ensure!(!copied.is_empty(), "the snapshot {snapshot} holds no tables");
        let tables = in_dependency_order(self.data_tables(spare).await?);
        let mut sql = String::new();
        for table in tables.iter().rev() {
            sql.push_str(&format!("DELETE FROM {into}.{};", quote(&table.name)));
        }
        for table in &tables {
            let Some(snapshot_columns) = copied.get(&table.name) else { continue };
            // A snapshot taken by an older binary lacks the columns added since: they take
            // their defaults.
            let columns: Vec<String> =
                table.columns.iter().filter(|c| snapshot_columns.contains(c)).map(|c| quote(c)).collect();
            let (columns, name) = (columns.join(", "), quote(&table.name));
            sql.push_str(&format!(
                "INSERT INTO {into}.{name} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM {from}.{name};"
            ));
        }
        let sequence = format!("format('%I.%I', {}, s.name)", literal(spare));
        sql.push_str(&format!(
            "SELECT setval({sequence}::regclass, s.last_value, s.is_called) FROM {from}.{} s \
             WHERE to_regclass({sequence}) IS NOT NULL;",
            quote(SEQUENCES_TABLE)
        ));
        sql.push_str(&format!("ALTER SCHEMA {into} RENAME TO {};", quote(&restored)));
        self.in_transaction(&sql).await?;
        Ok(restored)
    }

    /// Empties `schema`, a tenant's generation no longer served, of every row (its migrations'
    /// record aside), and renames it `prefix` and random letters: a target for `restore` as a
    /// spare is. Returns the new name. A request's transaction still running on it ends first
    /// (its tables are locked), and a statement after finds no schema by the old name.
    pub async fn empty(&self, schema: &str, prefix: &str) -> anyhow::Result<String> {
        let emptied = new_name(prefix);
        let schema_name = quote(schema);
        let tables: Vec<String> = self
            .data_tables(schema)
            .await?
            .iter()
            .map(|table| format!("{schema_name}.{}", quote(&table.name)))
            .collect();
        anyhow::ensure!(!tables.is_empty(), "the schema {schema} holds no tables");
        let sql = format!(
            "TRUNCATE {} RESTART IDENTITY; ALTER SCHEMA {schema_name} RENAME TO {};",
            tables.join(", "),
            quote(&emptied)
        );
        self.in_transaction(&sql).await?;
        Ok(emptied)
    }

    /// Drops a schema and everything in it; one already gone is no error.
    pub async fn drop_schema(&self, schema: &str) -> anyhow::Result<()> {
        self.run(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(schema))).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.hosted.close().await;
    }

    async fn run(&self, sql: &str) -> anyhow::Result<()> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&self.pool).await?;
        Ok(())
    }

    /// Runs `sql` (statements separated by `;`) in one transaction, begun in a task of its own
    /// (`postgres::begin`); dropped before its commit, it rolls back.
    async fn in_transaction(&self, sql: &str) -> anyhow::Result<()> {
        let mut tx = postgres::begin(&self.pool, None).await?;
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tables(&self, schema: &str) -> anyhow::Result<Vec<Table>> {
        let rows = sqlx::query(
            "SELECT c.relname::text AS name, \
               ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
                     AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum) AS columns, \
               ARRAY(SELECT DISTINCT r.relname::text FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid \
                     WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid) AS refs \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.oid",
        )
        .bind(schema)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Table {
                    name: row.try_get("name")?,
                    columns: row.try_get("columns")?,
                    references: row.try_get("refs")?,
                })
            })
            .collect()
    }

    /// A store's tables in `schema`: the migrator's record aside.
    async fn data_tables(&self, schema: &str) -> anyhow::Result<Vec<Table>> {
        Ok(self.tables(schema).await?.into_iter().filter(|table| table.name != MIGRATIONS_TABLE).collect())
    }

    async fn sequences(&self, schema: &str) -> anyhow::Result<Vec<String>> {
        let names = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname",
        )
        .bind(schema)
        .fetch_all(&self.pool)
        .await?;
        Ok(names)
    }
}

/// Each table after those its foreign keys name (a cycle, which the migrations have none of,
/// would keep the catalog's order).
fn in_dependency_order(mut tables: Vec<Table>) -> Vec<Table> {
    let present: std::collections::HashSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut placed = std::collections::HashSet::new();
    let mut ordered = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables
            .iter()
            .position(|t| t.references.iter().all(|r| placed.contains(r) || !present.contains(r)))
            .unwrap_or(0);
        let table = tables.remove(ready);
        placed.insert(table.name.clone());
        ordered.push(table);
    }
    ordered
}

fn new_name(prefix: &str) -> String {
    format!("{prefix}{}", crate::domain::ids::random_from(b"abcdefghijklmnopqrstuvwxyz0123456789", 16))
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_after_those_they_reference() {
        let table = |name: &str, references: &[&str]| Table {
            name: name.to_owned(),
            columns: vec![],
            references: references.iter().map(|r| (*r).to_owned()).collect(),
        };
        let ordered = in_dependency_order(vec![
            table("members", &["roles", "users"]),
            table("users", &["elsewhere"]),
            table("roles", &[]),
        ]);
        let names: Vec<&str> = ordered.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["users", "roles", "members"]);
    }
}
