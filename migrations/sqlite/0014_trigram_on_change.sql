-- The trigram index followed every UPDATE of a user, though most (a PATCH of metadata, a login
-- stamp) change none of its columns; and each write job's savepoint then flushed a new FTS5
-- segment to disk, to be merged later. It now follows only a change of an indexed column.
-- (PostgreSQL's pg_trgm indexes follow their table: number 0014 is SQLite's alone.)
DROP TRIGGER users_trigram_update;
CREATE TRIGGER users_trigram_update AFTER UPDATE ON users
WHEN old.seq IS NOT new.seq OR old.user_id IS NOT new.user_id OR old.email_ci IS NOT new.email_ci
    OR old.name_ci IS NOT new.name_ci OR old.given_name_ci IS NOT new.given_name_ci
    OR old.family_name_ci IS NOT new.family_name_ci OR old.nickname_ci IS NOT new.nickname_ci
    OR old.username IS NOT new.username OR old.phone_number IS NOT new.phone_number
BEGIN
    INSERT INTO users_trigram (users_trigram, rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES ('delete', old.seq, old.user_id, old.email_ci, old.name_ci, old.given_name_ci, old.family_name_ci, old.nickname_ci, old.username, old.phone_number);
    INSERT INTO users_trigram (rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES (new.seq, new.user_id, new.email_ci, new.name_ci, new.given_name_ci, new.family_name_ci, new.nickname_ci, new.username, new.phone_number);
END;
